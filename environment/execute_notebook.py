#!/usr/bin/env python3
"""Executes one notebook through Jupyter (nbclient) on the project kernel.

Usage: execute_notebook.py IN.ipynb OUT.ipynb --kernel NAME [--timeout SEC]

The kernel starts in the notebook's folder with this process's environment (REPRO_PRESET etc.).
Stream outputs are echoed to stderr as they arrive, so long runs show their progress.
Writes OUT.ipynb whether or not a cell fails; exits 1 on a failed cell, 2 on a setup problem.
"""
import argparse
import os
import sys

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
except ImportError as e:  # pragma: no cover
    print(f"Jupyter is missing in {sys.executable}: {e}. Run `npm run setup`.", file=sys.stderr)
    sys.exit(2)


class EchoClient(NotebookClient):
    """A NotebookClient that echoes stream output to stderr live."""

    def output(self, outs, msg, display_id, cell_index):
        if msg.get("msg_type") == "stream":
            sys.stderr.write(msg["content"].get("text", ""))
            sys.stderr.flush()
        return super().output(outs, msg, display_id, cell_index)

    async def _async_cleanup_kernel(self):
        # nbclient shuts the kernel down first and stops the client's channels after. A heartbeat ping that
        # arrives while tslab is shutting down is echoed on its closed socket (tslab/dist/jupyter.js, the hb
        # loop) and the kernel dies with "Error: Socket is closed" (EBADF) on stderr: seen on loaded machines.
        # tslab uses the heartbeat only for `jupyter console`; stop it before the shutdown request.
        kc = getattr(self, "kc", None)
        if kc is not None and kc.hb_channel.is_alive():
            kc.hb_channel.stop()
        await super()._async_cleanup_kernel()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--timeout", type=int, default=-1)
    a = ap.parse_args()
    try:
        KernelSpecManager().get_kernel_spec(a.kernel)
    except NoSuchKernel:
        print(f"Jupyter kernel '{a.kernel}' is not registered. Run `npm run setup`.", file=sys.stderr)
        sys.exit(2)
    nb = nbformat.read(a.inp, as_version=4)
    client = EchoClient(
        nb,
        kernel_name=a.kernel,
        timeout=None if a.timeout < 0 else a.timeout,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(a.inp))}},
        record_timing=False,
    )
    status = 0
    try:
        client.execute()
    except CellExecutionError as e:
        status = 1
        print(f"\n{e}", file=sys.stderr)
    except Exception as e:  # kernel died, timeout
        status = 1
        print(f"\nnotebook execution failed: {type(e).__name__}: {e}", file=sys.stderr)
    nbformat.write(nb, a.out)
    sys.exit(status)


if __name__ == "__main__":
    main()
