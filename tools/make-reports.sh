#!/usr/bin/env bash
# The committed example reports (reports/examples/): one of every report type, from the quick start
# and from each paper experiment's tiny run (`--profile synthetic`), all rendered from one committed
# store, reports/examples.db. Reports are a pure function of the store, so the check does not rerun
# a model (results move with the CPU and its BLAS; the renderers must not).
#
#   tools/make-reports.sh BUILD_DIR regenerate   run the experiments (the quick start takes minutes),
#                                                 keep their store as reports/examples.db, render
#                                                 every report into reports/examples/  (make reports)
#   tools/make-reports.sh BUILD_DIR render       only render reports/examples/ from the committed store
#   tools/make-reports.sh BUILD_DIR check OUT    render into OUT and compare with reports/examples/:
#                                                 exit 1 naming each file that differs (CTest ReportsUpToDate)
#
# PNG figures (rsvg-convert) are written where rsvg-convert is installed and never compared: they
# are rasterised from the SVGs, which are.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:?usage: tools/make-reports.sh BUILD_DIR regenerate|render|check OUT}
mode=${2:?usage: tools/make-reports.sh BUILD_DIR regenerate|render|check OUT}
ecgbench="$(cd "$build" && pwd)/ecgbench"
store=reports/examples.db  # as the reports name it: always relative to the directory rendered in

# name | experiment in the store | experiment file | published sidecar | extra report options
examples=(
  "quickstart|quickstart|experiments/quickstart.toml||--baseline random_init"
  "ptbxl-benchmark|ptbxl-benchmark-synthetic|experiments/papers/ptbxl_benchmark.toml|experiments/papers/ptbxl_benchmark.published.toml|"
  "merl-zero-shot|merl-zero-shot-synthetic|experiments/papers/merl_zero_shot.toml|experiments/papers/merl_zero_shot.published.toml|"
  "linear-probe-fractions|linear-probe-fractions-synthetic|experiments/papers/linear_probe_fractions.toml|experiments/papers/linear_probe_fractions.published.toml|--baseline random_init"
  "clef-comparison|clef-comparison-synthetic|experiments/papers/clef_comparison.toml|experiments/papers/clef_comparison.published.toml|"
  "tolerant-conditions|tolerant-conditions-synthetic|experiments/papers/tolerant_conditions.toml||"
  "fm-benchmark-modes|fm-benchmark-modes-synthetic|experiments/papers/fm_benchmark_modes.toml|experiments/papers/fm_benchmark_modes.published.toml|"
)

formats=md,tex,csv,html,svg
command -v rsvg-convert >/dev/null 2>&1 && formats+=,png

render() {  # DIR OUT_ROOT: render from DIR/reports/examples.db into OUT_ROOT (absolute)
  local dir=$1 out_root=$2 name experiment file published extra
  for entry in "${examples[@]}"; do
    IFS='|' read -r name experiment file published extra <<<"$entry"
    local args=(report "$experiment" --store "$store" --out "$out_root/$name" --format "$formats")
    [[ -n "$published" ]] && args+=(--published "$root/$published")
    # shellcheck disable=SC2206  # extra options are words
    [[ -n "$extra" ]] && args+=($extra)
    (cd "$dir" && "$ecgbench" "${args[@]}" >/dev/null)
  done
}

# Renders into OUT_ROOT (absolute) from a copy of the store, in a scratch directory that names it as
# the reports do: opening a store brings it to this build's schema and journal mode, which must not
# touch the committed file.
render_from_copy() {  # OUT_ROOT
  local out_root=$1
  mkdir -p "$out_root/.work/reports"
  cp "$root/$store" "$out_root/.work/reports/examples.db"
  render "$out_root/.work" "$out_root"
  rm -rf "$out_root/.work"
}

case "$mode" in
  regenerate)
    work=results/examples
    rm -rf "$work" && mkdir -p "$work"
    for entry in "${examples[@]}"; do
      IFS='|' read -r name experiment file published extra <<<"$entry"
      profile=()
      [[ "$file" == experiments/papers/* ]] && profile=(--profile synthetic)
      echo "make-reports: running $file ${profile[*]}"
      "$ecgbench" run "$file" "${profile[@]}" --store "$work/examples.db" --quiet
    done
    mkdir -p reports && rm -f "$store"
    sqlite3 "$work/examples.db" "VACUUM INTO '$store'"
    rm -rf reports/examples
    render_from_copy "$root/reports/examples"
    echo "make-reports: reports/examples/ and $store regenerated; commit both"
    ;;
  render)
    rm -rf reports/examples
    render_from_copy "$root/reports/examples"
    ;;
  check)
    out=${3:?usage: tools/make-reports.sh BUILD_DIR check OUT}
    [[ -f "$store" ]] || { echo "make-reports: no $store (run make reports)" >&2; exit 1; }
    out=$(mkdir -p "$out" && cd "$out" && pwd)
    rm -rf "$out" && mkdir -p "$out"
    render_from_copy "$out"
    status=0
    while IFS= read -r -d '' committed; do
      relative=${committed#reports/examples/}
      if [[ ! -f "$out/$relative" ]]; then
        echo "reports/examples/$relative is no longer generated" >&2; status=1
      elif ! cmp -s "$committed" "$out/$relative"; then
        echo "reports/examples/$relative differs from what the code generates:" >&2
        diff -u "$committed" "$out/$relative" | head -20 >&2 || true
        status=1
      fi
    done < <(find reports/examples -type f ! -name '*.png' -print0 | sort -z)
    while IFS= read -r -d '' generated; do
      relative=${generated#"$out"/}
      [[ -f "reports/examples/$relative" ]] || { echo "reports/examples/$relative is generated but not committed" >&2; status=1; }
    done < <(find "$out" -type f ! -name '*.png' -print0)
    [[ $status -eq 0 ]] && echo "make-reports: every committed report matches what the code generates"
    [[ $status -eq 0 ]] || echo "make-reports: run \`make reports\` (or tools/make-reports.sh $build render) and commit reports/" >&2
    exit $status
    ;;
  *) echo "make-reports: unknown mode $mode (regenerate, render, check)" >&2; exit 2 ;;
esac
