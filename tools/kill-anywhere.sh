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
# the first). Every tenth kill is drawn uniformly over a whole run from its launch (start-up
# included); the others uniformly over the cells' work, from the moment the run prints its first
# line (plugins loaded, experiment read, cells registered) — so most kills land in claims, shard
# builds, training, checkpoint writes and metric inserts rather than in plugin loading.
(run_iteration 0 --quiet) > "$work/reference.log" 2>&1 || { cat "$work/reference.log"; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Waits until run $1's log $2 shows its first line (or the run ended).
await_first_line() { while kill -0 "$1" 2>/dev/null && ! grep -qs "experiment '" "$2"; do sleep 0.02; done; }
launched=$(now_ms)
run_iteration $((iterations + 1)) > "$work/reference.log" 2>&1 &
pid=$!
await_first_line "$pid" "$work/reference.log"
first_line=$(now_ms)
wait "$pid" || { cat "$work/reference.log"; exit 1; }
full_ms=$(( $(now_ms) - launched ))
work_ms=$(( $(now_ms) - first_line ))
echo "kill-anywhere: a whole run takes ${full_ms} ms, ${work_ms} ms of it after its first line; killing $iterations runs"

declare -A landed=()
completed_before_kill=0
for ((i = 1; i <= iterations; ++i)); do
    launched=$(now_ms)
    run_iteration "$i" > "$work/killed-$i.log" 2>&1 &
    pid=$!  # ecgbench itself: the background subshell execs it
    window=$full_ms
    if (( i % 10 != 0 )); then
        await_first_line "$pid" "$work/killed-$i.log"
        window=$work_ms
    fi
    from=$(now_ms)
    delay_ms=$(( (RANDOM * 32768 + RANDOM) % (window + 1) ))
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
            *"probe"*|*"linear_probe"*|*"macro AUROC"*) phase="evaluation (probe, metric insert)" ;;
            *"experiment '"*) phase="store open / cell registration" ;;
            *"done: "*) phase="exit (after the last cell)" ;;
            *) phase="other: ${last:0:60}" ;;
        esac
    else
        wait "$pid" 2>/dev/null || true
        phase="(finished before the kill)"
        # The machine got faster than the reference: shrink the window to what this run took.
        if (( i % 10 != 0 )); then work_ms=$delay_ms; else full_ms=$delay_ms; fi
        ((++completed_before_kill))
    fi
    landed[$phase]=$(( ${landed[$phase]:-0} + 1 ))
    echo "kill-anywhere: iteration $i: killed $(( $(now_ms) - from )) ms after $( ((i % 10)) && echo "its first line" || echo "launch"): $phase"
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
