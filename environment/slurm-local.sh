#!/usr/bin/env bash
# A single-node Slurm cluster on localhost, for the Slurm sweep test (test/cluster/slurm.test.ts):
#
#   bash environment/slurm-local.sh install        # Debian's slurmctld slurmd slurm-client munge (root + apt-get)
#   bash environment/slurm-local.sh start DIR      # writes DIR/slurm.conf, starts munged, slurmctld, slurmd
#   bash environment/slurm-local.sh stop DIR       # stops the daemons this script started in DIR (by pid file)
#
# `start` prints `SLURM_CONF=DIR/slurm.conf` on its last line; the clients (sbatch, squeue, scancel) need it.
# Everything (state, spool, logs, pids) lives under DIR; nothing outside it is touched except the munge
# key (/etc/munge/munge.key, created when missing) and munged's own socket. Exit status 3 means "cannot
# run here" (not root, no apt-get, packages missing): the caller skips with that message.
set -euo pipefail
cmd=${1:-}
PKGS=(slurmctld slurmd slurm-client munge)

have_pkgs() { for b in slurmctld slurmd sbatch squeue scancel munged; do command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || return 1; done; }

case "$cmd" in
install)
  if have_pkgs; then echo "slurm-local: Slurm and munge are installed"; exit 0; fi
  if [ "$(id -u)" != 0 ]; then echo "slurm-local: not root: cannot install ${PKGS[*]} (sudo apt-get install ${PKGS[*]})" >&2; exit 3; fi
  command -v apt-get >/dev/null || { echo "slurm-local: no apt-get: install ${PKGS[*]} by hand" >&2; exit 3; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || echo "slurm-local: apt-get update failed; trying the install with the current package lists" >&2
  apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null || { echo "slurm-local: apt-get install ${PKGS[*]} failed" >&2; exit 3; }
  have_pkgs || { echo "slurm-local: ${PKGS[*]} installed but the commands are missing" >&2; exit 3; }
  echo "slurm-local: installed ${PKGS[*]}"
  ;;
start)
  DIR=${2:?usage: slurm-local.sh start DIR}
  [ "$(id -u)" = 0 ] || { echo "slurm-local: the daemons run as root here (SlurmUser=root); not root" >&2; exit 3; }
  have_pkgs || { echo "slurm-local: Slurm is not installed (run: bash environment/slurm-local.sh install)" >&2; exit 3; }
  export PATH="$PATH:/usr/sbin"
  mkdir -p "$DIR"/{state,spool,log,run}
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) * 8 / 10 ))
  # munge: a key (owner munge, mode 400) and the daemon; --force because /var/log/munge ownership is often off.
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  if ! munge -n >/dev/null 2>&1; then
    if id munge >/dev/null 2>&1; then
      su -s /bin/sh munge -c "/usr/sbin/munged --force" 2>/dev/null || /usr/sbin/munged --force
    else
      /usr/sbin/munged --force
    fi
    echo "started" > "$DIR/run/munged-started"
    for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  munge -n >/dev/null 2>&1 || { echo "slurm-local: munged did not start" >&2; exit 1; }
  cat > "$DIR/slurm.conf" <<EOF
ClusterName=repro-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=$(( 6817 + RANDOM % 500 * 2 ))
SlurmdPort=$(( 7818 + RANDOM % 500 * 2 ))
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobRequeue=1
KillWait=10
SchedulerParameters=defer_batch
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$DIR/slurm.conf"
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 100); do
    state=$(sinfo -h -o '%t' 2>/dev/null | head -1 || true)
    [ "$state" = idle ] && break
    sleep 0.2
  done
  [ "${state:-}" = idle ] || { echo "slurm-local: the node did not come up (sinfo: '${state:-}'); logs in $DIR/log" >&2; tail -5 "$DIR"/log/*.log >&2 || true; exit 1; }
  echo "slurm-local: node $host idle ($cpus CPUs)"
  echo "SLURM_CONF=$SLURM_CONF"
  ;;
stop)
  DIR=${2:?usage: slurm-local.sh stop DIR}
  for d in slurmd slurmctld; do
    f="$DIR/run/$d.pid"
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ -f "$DIR/run/munged-started" ]; then
    pid=$(cat /run/munge/munged.pid 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -f "$DIR/run/munged-started"
  fi
  echo "slurm-local: stopped"
  ;;
*)
  echo "usage: slurm-local.sh install | start DIR | stop DIR" >&2
  exit 2
  ;;
esac
