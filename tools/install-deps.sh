#!/usr/bin/env bash
# Installs the Debian 12 packages ecgbench needs, only those missing (idempotent, quiet when all
# are present). Uses sudo when not root. Exits non-zero with a clear message when it cannot.
# `--bench` adds the Python peers' packages (Debian's python3-torch: the same LibTorch 1.13; numpy,
# scipy, pandas, fsspec and soundfile for wfdb-python, which Debian does not package: bench/wfdb_peer.py).
# `--fuzz` adds clang and its libFuzzer/sanitizer runtimes for the fuzz/ targets (docs/wfdb.md).
# `--browser` adds Debian's chromium for the headless check of HTML reports
# (tools/check-html-report.sh; an 81 MB download, about 290 MB installed with 16 packages).
# `--reports` adds rsvg-convert (librsvg2-bin) for `ecgbench report --format png` (PNG figures).
# `--slurm` adds Slurm (slurmctld, slurmd, sbatch…) and munge for the tests of `ecgbench submit`
# against a real single-node cluster (tools/slurm-local.sh starts one).
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libboost-dev libboost-filesystem-dev
  libtomlplusplus-dev libsqlitecpp-dev libsqlite3-dev sqlite3
  zlib1g-dev libzstd-dev libssl-dev nlohmann-json3-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libsentencepiece-dev libflac-dev
  libgloo-dev
)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(python3-torch python3-numpy python3-scipy python3-pandas python3-fsspec python3-soundfile) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    --browser) packages+=(chromium) ;;
    --slurm) packages+=(slurm-wlm munge) ;;
    --reports) packages+=(librsvg2-bin) ;;
    *) echo "install-deps: unknown option $arg (options: --bench, --browser, --fuzz, --reports, --slurm)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "ecgbench: installing missing Debian packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "ecgbench: missing packages (${missing[*]}) and neither root nor sudo available;" >&2
  echo "          install them with: apt-get install ${missing[*]}" >&2
  exit 1
fi
if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  echo "ecgbench: apt-get install failed; refreshing the package index and retrying" >&2
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" || {
    echo "ecgbench: could not install ${missing[*]} (no access to Debian's archive?)" >&2
    exit 1
  }
fi
