#!/usr/bin/env bash
# A SLURM cluster on localhost, for the tests and for trying `study --executor slurm`: Debian's
# slurm-wlm + munge as plain daemons (no systemd), their files under $SLURM_LOCAL_DIR.
#   bash scripts/slurm_local.sh start [--nodes N]  # installs slurm-wlm and munge when missing (root or
#                                                  # sudo), starts the daemons: one node (default) or N
#   bash scripts/slurm_local.sh status   # daemons and node states; exit 1 when not up
#   bash scripts/slurm_local.sh stop     # cancels every job (its steps and processes end), then stops
#                                        # the daemons by their recorded PIDs
# Then: export SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf PATH=$SLURM_LOCAL_DIR/bin:$PATH
# (bin/ holds `sacct`, a stand-in for SLURM's accounting, see below).
# N nodes: one slurmd per node, each in its own UTS namespace (`unshare --uts`) so that the tasks on it
# see its host name, each on its own port, the machine's CPUs and memory split between them. The first
# node is named after this machine (its name resolves: Lightning and torch.distributed take a job's
# first node as MASTER_ADDR), the others <host>-n<i> (slurmctld reaches them by NodeAddr=127.0.0.1).
# Idempotent: `start` on a running cluster of that size only reports it.
set -euo pipefail
DIR=${SLURM_LOCAL_DIR:-/tmp/pretrain-robustness-slurm}
# non-default ports, so a machine's own SLURM (6817/6818) is never touched; node i listens on SLURMD_PORT + i - 1
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-16817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-16818}
export SLURM_CONF=$DIR/slurm.conf

pid_alive() {  # a live process (not a zombie left unreaped: `kill -0` succeeds on those)
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null)
  kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]
}

node_name() {  # of node $1 (from 1)
  if [ "$1" -eq 1 ]; then hostname -s; else echo "$(hostname -s)-n$1"; fi
}

configured_nodes() {  # the node names of the written config
  [ -f "$DIR/slurm.conf" ] && sed -n 's/^NodeName=\([^ ]*\).*/\1/p' "$DIR/slurm.conf" || true
}

install_packages() {
  command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 && return
  echo "installing Debian's slurm-wlm and munge ..."
  local sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
}

write_config() {
  local nodes=$1 cpus mem_mb node_lines="" names="" i
  # the cores this machine gives (nproc would honour OMP_NUM_THREADS, which a test worker sets to its share)
  cpus=$(( $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) / nodes )); [ "$cpus" -ge 1 ] || cpus=1
  mem_mb=$(( ($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024) / nodes ))
  # the machine's cores and nothing more: split between the nodes, one CPU per core (ThreadsPerCore=1).
  # Declaring more (two threads per core, to place two tasks on a one-CPU node) let two jobs run 4
  # compute threads plus loader workers on 2 cores, ~8x slower than one after another.
  for i in $(seq 1 "$nodes"); do
    node_lines+="NodeName=$(node_name "$i") NodeAddr=127.0.0.1 Port=$(( SLURMD_PORT + i - 1 )) CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem_mb State=UNKNOWN"$'\n'
    names+="${names:+,}$(node_name "$i")"
  done
  mkdir -p "$DIR"/{state,spool,log,bin}
  cat > "$DIR/slurm.conf" <<EOF
# written by scripts/slurm_local.sh: $nodes node(s) on localhost, root, no accounting database
ClusterName=pretrain-robustness-local
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$CTLD_PORT
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
# without a default, each job is given the whole node's memory and jobs run one at a time (per thread)
DefMemPerCPU=$(( mem_mb / cpus ))
# finished jobs stay visible to squeue/scontrol for an hour (bin/sacct reads them there)
MinJobAge=3600
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
# the nodes share one machine: each slurmd takes its CPUs and memory from its line, not the hardware
SlurmdParameters=config_overrides
${node_lines}PartitionName=local Nodes=$names Default=YES MaxTime=INFINITE State=UP
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
  local nodes=$1 name i queued
  install_packages
  mkdir -p "$DIR"
  if pid_alive "$DIR/slurmd.pid"; then  # started by this script before --nodes (one pid file for slurmd)
    stop >/dev/null
  fi
  if [ "$(configured_nodes | wc -l)" -ne "$nodes" ]; then
    if pid_alive "$DIR/slurmctld.pid"; then
      echo "slurm_local: running with $(configured_nodes | wc -l) node(s); stop it first to start it with $nodes" >&2
      exit 1
    fi
    rm -rf "$DIR/state" "$DIR/spool"  # the other cluster's jobs and node states
  fi
  pid_alive "$DIR/slurmctld.pid" || write_config "$nodes"
  write_sacct
  start_munge
  if ! pid_alive "$DIR/slurmctld.pid"; then
    slurmctld -D -i -f "$DIR/slurm.conf" >>"$DIR/log/slurmctld.out" 2>&1 &
    echo $! > "$DIR/slurmctld.pid"
  fi
  for i in $(seq 1 "$nodes"); do
    name=$(node_name "$i")
    mkdir -p "$DIR/spool/$name"
    if ! pid_alive "$DIR/slurmd-$name.pid"; then
      # its own UTS namespace: its tasks see its host name (unshare execs sh, sh execs slurmd: one pid)
      unshare --uts sh -c "hostname $name && exec slurmd -D -f $DIR/slurm.conf -N $name" \
        >>"$DIR/log/slurmd-$name.out" 2>&1 &
      echo $! > "$DIR/slurmd-$name.pid"
    fi
  done
  for _ in $(seq 1 60); do
    if [ "$(sinfo --noheader --Node --format=%t 2>/dev/null | grep -cE '^(idle|mix|alloc)')" -eq "$nodes" ]; then
      echo "slurm_local: up, $nodes node(s) (SLURM_CONF=$SLURM_CONF; add $DIR/bin to PATH for sacct)"
      # jobs in the saved state are left from a cluster that ended without `stop` (or an older one): their
      # processes are gone, yet slurmctld would hold nodes for them as running and queue new jobs behind
      queued=$(job_ids --states=PENDING,RUNNING,CONFIGURING,COMPLETING)
      if [ -n "${queued// /}" ]; then
        echo "slurm_local: cancelled job(s) $queued left from before the last stop: the queue starts empty"
        scancel --quiet $queued 2>/dev/null || true
      fi
      return 0
    fi
    sleep 0.5
  done
  echo "slurm_local: the nodes did not become idle in 30 s; logs in $DIR/log" >&2
  tail -5 "$DIR"/log/*.log >&2 || true
  exit 1
}

daemons() {  # their pid files' names: each node's slurmd, slurmctld, munged
  local name
  for name in $(configured_nodes); do echo "slurmd-$name"; done
  echo slurmctld munged
}

job_ids() {  # the cluster's job ids on one line (squeue's options in "$@"); none when its controller is down
  (squeue --noheader --format=%A "$@" 2>/dev/null || true) | sort -u | paste -sd ' '
}

our_steps() {  # PIDs of the slurmstepd processes of this cluster (their environment names its slurm.conf)
  local proc
  for proc in /proc/[0-9]*; do
    [ "$(head -c 11 "$proc/cmdline" 2>/dev/null | tr -d '\0')" = "slurmstepd:" ] || continue
    if tr '\0' '\n' < "$proc/environ" 2>/dev/null | grep -qx "SLURM_CONF=$DIR/slurm.conf"; then echo "${proc#/proc/}"; fi
  done
  return 0  # none found is not a failure (set -e)
}

tree() {  # the PIDs given and all their descendants
  local pid
  for pid in "$@"; do
    echo "$pid"
    tree $(ps -o pid= --ppid "$pid" 2>/dev/null || true)
  done
  return 0
}

end_jobs() {  # every job of this cluster cancelled, its steps and processes ended (a stop leaves none)
  local jobs steps left
  if pid_alive "$DIR/slurmctld.pid"; then
    jobs=$(job_ids)
    if [ -n "${jobs// /}" ]; then
      echo "slurm_local: cancelling job(s) $jobs"
      scancel --quiet $jobs 2>/dev/null || true
      for _ in $(seq 1 60); do [ -z "$(our_steps)" ] && break; sleep 0.5; done
    fi
  fi
  steps=$(our_steps)
  [ -z "$steps" ] && return
  left=$(tree $steps | paste -sd ' ')  # steps the daemons did not end (e.g. slurmctld was down): ended here
  echo "slurm_local: ending job step processes $left"
  kill -TERM $left 2>/dev/null || true
  for _ in $(seq 1 20); do [ -z "$(our_steps)" ] && return; sleep 0.25; done
  kill -KILL $(tree $(our_steps)) 2>/dev/null || true
}

stop() {
  local name
  end_jobs
  for name in $(daemons) slurmd; do  # slurmd: a cluster started by this script before --nodes
    if pid_alive "$DIR/$name.pid"; then
      kill "$(cat "$DIR/$name.pid")"
      for _ in $(seq 1 20); do pid_alive "$DIR/$name.pid" || break; sleep 0.25; done
    fi
    rm -f "$DIR/$name.pid"
  done
  echo "slurm_local: stopped"
}

status() {
  local up=0 name
  for name in $(daemons); do
    if pid_alive "$DIR/$name.pid"; then echo "$name: running (pid $(cat "$DIR/$name.pid"))"
    else echo "$name: stopped"; up=1; fi
  done
  [ $up -eq 0 ] && sinfo --Node --format='%N %P %t %c %m' || true
  return $up
}

case "${1:-}" in
  start)
    nodes=1
    [ "${2:-}" = "--nodes" ] && nodes=${3:-}
    [[ "$nodes" =~ ^[1-9][0-9]*$ ]] || { echo "slurm_local: --nodes takes a positive number, got '$nodes'" >&2; exit 2; }
    start "$nodes" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [--nodes N] | stop | status" >&2; exit 2 ;;
esac
