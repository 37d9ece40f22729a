# The project's BLAS matmul addon: cblas_sgemm over the wasm engine's heap.
# Linux: Debian's libopenblas-dev (OpenBLAS, pthread flavour). macOS: the Accelerate framework
# (written from Apple's documentation; not built or tested here, no Mac was available).
{
  "targets": [
    {
      "target_name": "repro_blas",
      "sources": ["repro_blas.c"],
      "cflags": ["-O2", "-Wall"],
      "conditions": [
        ["OS=='mac'", {
          "defines": ["REPRO_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "link_settings": { "libraries": ["-framework Accelerate"] }
        }],
        ["OS!='mac'", {
          "defines": ["REPRO_OPENBLAS"],
          "libraries": ["-lopenblas"]
        }]
      ]
    }
  ]
}
