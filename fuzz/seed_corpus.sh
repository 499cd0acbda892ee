#!/usr/bin/env bash
# Builds the fuzzers' seed corpus at run time (shared data is never copied into the repository):
#   fuzz/seed_corpus.sh DEST [SHARED_DATA]
# DEST/header gets the hand-written seeds and every .hea under SHARED_DATA (default ../shared/data
# beside the repository); DEST/annotations the seeds and the annotation files under 64 KiB.
set -euo pipefail
dest=${1:?usage: seed_corpus.sh DEST [SHARED_DATA]}
here=$(cd "$(dirname "$0")" && pwd)
shared=${2:-$here/../../shared/data}
rm -rf "$dest/header" "$dest/annotations"  # rebuilt from scratch, so reruns add no duplicates
mkdir -p "$dest/header" "$dest/annotations"
cp "$here"/seeds/header/* "$dest/header/"
cp "$here"/seeds/annotations/* "$dest/annotations/"
[[ -d $shared ]] || exit 0
# One cp per kind; equal names from different folders are kept as numbered backups (name.~1~).
copy_found() { xargs -0 -r cp --backup=numbered -t "$dest/$1"; }
find "$shared" -type f -name '*.hea' -size -64k -print0 | copy_found header
find "$shared" -type f -size -64k \( -name '*.atr' -o -name '*.qrs' -o -name '*.sqrs' -o -name '*.wqrs' \
    -o -name '*.wabp' -o -name '*.gqrsh' -o -name '*.gqrsl' -o -name '*.anI' -o -name '*.i' -o -name '*.ii' \
    -o -name '*.iii' -o -name '*.avr' -o -name '*.avl' -o -name '*.avf' -o -name '*.v[1-6]' \) -print0 |
    copy_found annotations
chmod -R u+w "$dest"  # the shared files are read-only; their copies need not be
