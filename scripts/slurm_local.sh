#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for the tests and for trying `study --executor slurm`:
# Debian's slurm-wlm + munge as plain daemons (no systemd), their files under $SLURM_LOCAL_DIR.
#   bash scripts/slurm_local.sh start    # installs slurm-wlm and munge when missing (root or sudo), starts the daemons
#   bash scripts/slurm_local.sh status   # daemons and node state; exit 1 when not up
#   bash scripts/slurm_local.sh stop     # stops the daemons by their recorded PIDs
# Then: export SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf PATH=$SLURM_LOCAL_DIR/bin:$PATH
# (bin/ holds `sacct`, a stand-in for SLURM's accounting, see below).
# Idempotent: `start` on a running cluster only reports it.
set -euo pipefail
DIR=${SLURM_LOCAL_DIR:-/tmp/pretrain-robustness-slurm}
# non-default ports, so a machine's own SLURM (6817/6818) is never touched
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-16817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-16818}
export SLURM_CONF=$DIR/slurm.conf

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

install_packages() {
  command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 && return
  echo "installing Debian's slurm-wlm and munge ..."
  local sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
}

write_config() {
  local node cpus mem_mb
  node=$(hostname -s); cpus=$(nproc)
  mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  mkdir -p "$DIR"/{state,spool,log,bin}
  cat > "$DIR/slurm.conf" <<EOF
# written by scripts/slurm_local.sh: one node, localhost, root, no accounting database
ClusterName=pretrain-robustness-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge.socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without a default, each job is given the whole node's memory and jobs run one at a time
DefMemPerCPU=$(( mem_mb / cpus ))
# finished jobs stay visible to squeue/scontrol for an hour (bin/sacct reads them there)
MinJobAge=3600
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

write_sacct() {
  mkdir -p "$DIR/bin"
  # SLURM without slurmdbd has no sacct; submitit reads job states through it. This stand-in answers
  # submitit's query (sacct -o JobID,State,NodeList --parsable2 -j IDS) from squeue, which keeps
  # finished jobs for MinJobAge. Real clusters have the real sacct.
  cat > "$DIR/bin/sacct" <<'EOF'
#!/usr/bin/env bash
# stand-in for sacct on a cluster without accounting (scripts/slurm_local.sh): JobID|State|NodeList
ids=""
while [ $# -gt 0 ]; do
  case "$1" in -j|--jobs) ids="${ids:+$ids,}$2"; shift 2 ;; *) shift ;; esac
done
echo "JobID|State|NodeList"
[ -z "$ids" ] && exit 0
squeue --noheader --states=all --array --jobs="$ids" --format='%i|%T|%N' 2>/dev/null || true
EOF
  chmod +x "$DIR/bin/sacct"
}

start_munge() {
  pid_alive "$DIR/munged.pid" && return
  if [ ! -f "$DIR/munge.key" ]; then
    dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge.key" status=none
    chmod 400 "$DIR/munge.key"
  fi
  munged --force --key-file="$DIR/munge.key" --socket="$DIR/munge.socket" --pid-file="$DIR/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge.seed"
  for _ in $(seq 1 20); do [ -S "$DIR/munge.socket" ] && [ -s "$DIR/munged.pid" ] && return; sleep 0.25; done
  echo "slurm_local: munged did not start; see $DIR/log/munged.log" >&2
  exit 1
}

start() {
  install_packages
  mkdir -p "$DIR"
  [ -f "$DIR/slurm.conf" ] || write_config
  write_sacct
  start_munge
  if ! pid_alive "$DIR/slurmctld.pid"; then
    slurmctld -D -i -f "$DIR/slurm.conf" >>"$DIR/log/slurmctld.out" 2>&1 &
    echo $! > "$DIR/slurmctld.pid"
  fi
  if ! pid_alive "$DIR/slurmd.pid"; then
    slurmd -D -f "$DIR/slurm.conf" >>"$DIR/log/slurmd.out" 2>&1 &
    echo $! > "$DIR/slurmd.pid"
  fi
  for _ in $(seq 1 60); do
    if sinfo --noheader --format=%t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo "slurm_local: up (SLURM_CONF=$SLURM_CONF; add $DIR/bin to PATH for sacct)"
      return
    fi
    sleep 0.5
  done
  echo "slurm_local: the node did not become idle in 30 s; logs in $DIR/log" >&2
  tail -5 "$DIR"/log/*.log >&2 || true
  exit 1
}

stop() {
  for name in slurmd slurmctld munged; do
    if pid_alive "$DIR/$name.pid"; then
      kill "$(cat "$DIR/$name.pid")"
      for _ in $(seq 1 20); do pid_alive "$DIR/$name.pid" || break; sleep 0.25; done
    fi
    rm -f "$DIR/$name.pid"
  done
  echo "slurm_local: stopped"
}

status() {
  local up=0
  for name in munged slurmctld slurmd; do
    if pid_alive "$DIR/$name.pid"; then echo "$name: running (pid $(cat "$DIR/$name.pid"))"
    else echo "$name: stopped"; up=1; fi
  done
  [ $up -eq 0 ] && sinfo --format='%P %a %D %t %c %m' || true
  return $up
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
