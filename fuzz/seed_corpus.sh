#!/usr/bin/env bash
# Builds the fuzzers' seed corpus at run time (shared data is never copied into the repository):
#   fuzz/seed_corpus.sh DEST [SHARED_DATA]
# DEST/header gets the hand-written seeds and every .hea under SHARED_DATA (default ../shared/data
# beside the repository); DEST/annotations the seeds and the annotation files under 64 KiB;
# DEST/signals the seeds and, per signal file of wfdb-python's sample records (every storage
# format, FLAC included), the record line and that file's signal lines, a NUL byte and the file's
# first 2 KiB (the input layout of fuzz_wfdb_signals).
set -euo pipefail
dest=${1:?usage: seed_corpus.sh DEST [SHARED_DATA]}
here=$(cd "$(dirname "$0")" && pwd)
shared=${2:-$here/../../shared/data}
rm -rf "$dest/header" "$dest/annotations" "$dest/signals"  # rebuilt from scratch, so reruns add no duplicates
mkdir -p "$dest/header" "$dest/annotations" "$dest/signals"
cp "$here"/seeds/header/* "$dest/header/"
cp "$here"/regressions/header/* "$dest/header/"  # inputs that once failed the fuzzer
cp "$here"/seeds/annotations/* "$dest/annotations/"
cp "$here"/seeds/signals/* "$dest/signals/"
cp "$here"/regressions/signals/* "$dest/signals/"  # inputs that once crashed the fuzzer
[[ -d $shared ]] || exit 0
# One cp per kind; equal names from different folders are kept as numbered backups (name.~1~).
copy_found() { xargs -0 -r cp --backup=numbered -t "$dest/$1"; }
find "$shared" -type f -name '*.hea' -size -64k -print0 | copy_found header
find "$shared" -type f -size -64k \( -name '*.atr' -o -name '*.qrs' -o -name '*.sqrs' -o -name '*.wqrs' \
    -o -name '*.wabp' -o -name '*.gqrsh' -o -name '*.gqrsl' -o -name '*.anI' -o -name '*.i' -o -name '*.ii' \
    -o -name '*.iii' -o -name '*.avr' -o -name '*.avl' -o -name '*.avf' -o -name '*.v[1-6]' \) -print0 |
    copy_found annotations
# The header's record line with nsig set to the file's own signal count, then those signal lines.
signal_seed() {
    awk -v f="$2" '/^#/ || !NF { next } !rec { rec = $0; next } $1 == f { lines = lines $0 "\n"; n++ }
        END { k = split(rec, a, " "); a[2] = n; line = a[1]; for (i = 2; i <= k; i++) line = line " " a[i]
              printf "%s\n%s", line, lines }' "$1"
}
for hea in "$shared"/wfdb-python/sample-data/*.hea; do
    [[ -f $hea ]] || continue
    dir=$(dirname "$hea")
    for file in $(awk '/^#/ || !NF { next } rec++ { print $1 }' "$hea" | sort -u); do
        [[ -f $dir/$file ]] || continue  # multi-segment headers list segments, "~" is no file
        seed="$dest/signals/$(basename "$hea" .hea)-$file"
        { signal_seed "$hea" "$file"; printf '\0'; head -c 2048 "$dir/$file"; } > "$seed"
    done
done
chmod -R u+w "$dest"  # the shared files are read-only; their copies need not be
