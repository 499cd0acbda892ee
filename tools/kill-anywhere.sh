#!/usr/bin/env bash
# Kill-anywhere check: ITERATIONS times, an `ecgbench run` of a tiny experiment is killed with
# SIGKILL at a random moment (claim, shard build, training, checkpoint write, metric insert, ...),
# then the next run must complete the experiment. Each iteration uses new cells (pretraining seed
# and pretraining data seed = the iteration), all in one store, so kills also land on a store with
# history and on cache-shard builds. At the end: every cell has exactly one finished run, nothing
# is left marked running by a live process, `PRAGMA integrity_check` is ok and `ecgbench verify`
# finds no damaged checkpoint or shard. Prints where the kills landed (the killed run's last
# progress line) and the counts.
#
#   tools/kill-anywhere.sh BUILD_DIR ITERATIONS [WORK_DIR]
#
# CTest runs it with a few iterations (tests/CMakeLists.txt); the README gives a 100-iteration run.
set -euo pipefail

build_dir=$(cd "${1:?usage: kill-anywhere.sh BUILD_DIR ITERATIONS [WORK_DIR]}" && pwd)
iterations=${2:?usage: kill-anywhere.sh BUILD_DIR ITERATIONS [WORK_DIR]}
work=${3:-$(mktemp -d /tmp/ecgbench-kill-anywhere.XXXXXX)}
mkdir -p "$work"
bin="$build_dir/ecgbench"
store="$work/store.db"
experiment="$work/tiny.toml"
cat > "$experiment" <<'TOML'
[experiment]
name = "kill-anywhere"

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = 48, records_per_subject = 2, duration_s = 2.5 }

[[dataset]]
name = "heldout"
plugin = "synthetic"
params = { seed = 2, records = 64, records_per_subject = 2, site = 1, duration_s = 2.5 }

[[encoder]]
name = "resnet-xs"
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "simclr"

[pretrain]
datasets = ["pre"]
seeds = [0]
epochs = 2
batch_size = 16
checkpoint_every = 1

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["heldout"]
TOML

run_iteration() {  # $1: iteration; the remaining arguments go to `ecgbench run`. Execs: call it in a subshell
    local i=$1
    shift
    exec "$bin" --store "$store" run "$experiment" --set "pretrain.seeds=[$i]" --set "dataset.pre.params.seed=$((1000 + i))" "$@"
}

# How long a whole run takes here (the held-out split already cached, as in every iteration after
# the first): kills are drawn uniformly over that.
(run_iteration 0 --quiet) > "$work/reference.log" 2>&1 || { cat "$work/reference.log"; exit 1; }
start=$(date +%s%N)
(run_iteration $((iterations + 1)) --quiet) > "$work/reference.log" 2>&1 || { cat "$work/reference.log"; exit 1; }
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "kill-anywhere: a whole run takes ${full_ms} ms; killing $iterations runs at random moments in [0, $full_ms] ms"

declare -A landed=()
completed_before_kill=0
for ((i = 1; i <= iterations; ++i)); do
    delay_ms=$(( (RANDOM * 32768 + RANDOM) % (full_ms + 1) ))
    run_iteration "$i" > "$work/killed-$i.log" 2>&1 &
    pid=$!  # ecgbench itself: the background subshell execs it
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -KILL "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        # Where it was: the last progress line, reduced to its kind.
        last=$(tr '\r' '\n' < "$work/killed-$i.log" | grep -v '^\s*$' | tail -n 1 || true)
        case "$last" in
            "") phase="start-up (plugins, experiment file)" ;;
            *"epoch "*"step "*) phase="training" ;;
            *"trained "*) phase="checkpoint write" ;;
            *"pretrain "*) phase="claim / shard build / setup" ;;
            *"probe"*|*"linear_probe"*) phase="evaluation (probe, metric insert)" ;;
            *"experiment '"*) phase="store open / cell registration" ;;
            *) phase="other: ${last:0:60}" ;;
        esac
    else
        wait "$pid" 2>/dev/null || true
        phase="(finished before the kill)"
        ((++completed_before_kill))
    fi
    landed[$phase]=$(( ${landed[$phase]:-0} + 1 ))
    echo "kill-anywhere: iteration $i: killed after $delay_ms ms: $phase"
    if ! (run_iteration "$i" --quiet) > "$work/resumed-$i.log" 2>&1; then
        echo "kill-anywhere: iteration $i: the run after the kill did not complete the experiment:" >&2
        cat "$work/resumed-$i.log" >&2
        exit 1
    fi
done

fail() { echo "kill-anywhere: FAILED: $*" >&2; exit 1; }
sql() { sqlite3 -batch -noheader "$store" "$1"; }
cells=$(sql "SELECT COUNT(*) FROM cells")
expected=$(( (iterations + 2) * 2 ))  # one pretraining and one evaluation cell per iteration and reference run
[[ "$cells" -eq "$expected" ]] || fail "$cells cells in the store, expected $expected"
not_once=$(sql "SELECT COUNT(*) FROM cells c WHERE (SELECT COUNT(*) FROM runs r WHERE r.cell_hash = c.hash AND r.status = 'finished') != 1")
[[ "$not_once" -eq 0 ]] || fail "$not_once cells without exactly one finished run"
integrity=$(sql "PRAGMA integrity_check")
[[ "$integrity" == "ok" ]] || fail "integrity_check: $integrity"
"$bin" --store "$store" verify > "$work/verify.log" 2>&1 || { cat "$work/verify.log" >&2; fail "ecgbench verify found damage"; }
killed_runs=$(sql "SELECT COUNT(*) FROM runs WHERE status != 'finished'")
running=$(sql "SELECT COUNT(*) FROM runs WHERE status = 'running'")

echo "kill-anywhere: $iterations kills; where they landed:"
for phase in "${!landed[@]}"; do printf '  %4d  %s\n' "${landed[$phase]}" "$phase"; done | sort -rn
echo "kill-anywhere: OK: $cells cells, each with exactly one finished run; $killed_runs interrupted runs recorded;" \
     "($running still marked running: their process was killed before a later run met their cell);" \
     "integrity_check ok; verify ok"
[[ -n "${3:-}" ]] || rm -rf "$work"
