#!/usr/bin/env bash
# A real single-node Slurm cluster on this Debian machine (slurmctld + slurmd + munged), for the
# tests of `ecgbench submit --slurm` (the recipe of ../shared/guide/SLURM.md). Needs root and
# `tools/install-deps.sh --slurm`.
#
#   tools/slurm-local.sh start   # idempotent; prints `export SLURM_CONF=...` on stdout
#   tools/slurm-local.sh stop    # stops what `start` started (by the pids it recorded)
#   tools/slurm-local.sh status  # exit 0 when the cluster answers
#
# State lives in $ECGBENCH_SLURM_DIR (default /tmp/ecgbench-slurm): slurm.conf, logs, pids.
set -euo pipefail

dir=${ECGBENCH_SLURM_DIR:-/tmp/ecgbench-slurm}
conf=$dir/slurm.conf
say() { echo "slurm-local: $*" >&2; }

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
  if alive /run/munge/munged.pid; then return; fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  [[ -f /etc/munge/munge.key ]] || mungekey -c
  chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
  su -s /bin/sh munge -c /usr/sbin/munged 9>&-  # munged refuses to run as root
  touch "$dir/munged.started"
}

write_conf() {
  local host memory
  host=$(hostname -s)
  # What the node offers: all cores, and the memory less 1 GiB for the system.
  memory=$(awk '/MemTotal/ { m = int($2 / 1024) - 1024; print (m > 1000 ? m : 1000) }' /proc/meminfo)
  cat > "$conf" <<CONF
ClusterName=ecgbench-local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/ctld.log
SlurmdLogFile=$dir/d.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
# Pre-emption's grace between SIGTERM and SIGKILL (Slurm's default is 30 s); short for tests.
KillWait=5
JobRequeue=1
NodeName=$host CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

cmd_start() {
  [[ $(id -u) -eq 0 ]] || { say "needs root (slurmd runs jobs as their users)"; exit 1; }
  command -v slurmctld >/dev/null || { say "slurmctld not installed: run tools/install-deps.sh --slurm"; exit 1; }
  mkdir -p "$dir/state" "$dir/spool"
  # Tests run in parallel may start it at once: one at a time. The daemons must not inherit the
  # lock's descriptor (9>&-), or they would hold the lock for as long as they live.
  exec 9>"$dir/start.lock"
  flock -w 120 9 || { say "another start has held $dir/start.lock for 2 minutes"; exit 1; }
  start_munge
  [[ -f $conf ]] || write_conf
  export SLURM_CONF=$conf
  alive "$dir/slurmctld.pid" || slurmctld 9>&-
  alive "$dir/slurmd.pid" || slurmd 9>&-
  for _ in $(seq 60); do
    state=$(sinfo -h -o %t 2>/dev/null | head -n1 || true)
    if [[ $state == idle* || $state == mix* || $state == alloc* ]]; then
      echo "export SLURM_CONF=$conf"
      return
    fi
    sleep 0.5
  done
  say "the node did not become idle (state '${state:-none}'); see $dir/ctld.log and $dir/d.log"
  exit 1
}

cmd_stop() {
  for daemon in slurmd slurmctld; do
    if alive "$dir/$daemon.pid"; then kill "$(cat "$dir/$daemon.pid")"; fi
  done
  if [[ -f $dir/munged.started ]] && alive /run/munge/munged.pid; then
    kill "$(cat /run/munge/munged.pid)"
    rm -f "$dir/munged.started"
  fi
  say "stopped (state kept in $dir)"
}

cmd_status() {
  alive "$dir/slurmctld.pid" && alive "$dir/slurmd.pid" && SLURM_CONF=$conf sinfo -h >/dev/null 2>&1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
