#!/usr/bin/env bash
# Renders an ecgbench HTML report in headless Chromium and checks what the browser built from it:
# the DOM it parsed holds every table and figure of the file (<table>, <figure> with an inline
# <svg>, the provenance section), and a full-page screenshot is written and is not blank.
#
#   tools/check-html-report.sh REPORT.html [OUT_DIR]
#
# OUT_DIR (default: a temporary folder) receives dom.html and screenshot.png. Exit 0 when the
# checks pass, 1 when one fails, 77 (a skip, for CTest/automake) when no Chromium is installed:
# `tools/install-deps.sh --browser` installs Debian's `chromium`.
set -euo pipefail

report=${1:?usage: $0 REPORT.html [OUT_DIR]}
[[ -f "$report" ]] || { echo "check-html-report: no file $report" >&2; exit 1; }
out=${2:-$(mktemp -d)}
mkdir -p "$out"

browser=""
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then browser=$candidate; break; fi
done
if [[ -z "$browser" ]]; then
  echo "check-html-report: SKIPPED, no chromium found (install it with tools/install-deps.sh --browser)"
  exit 77
fi

url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
# --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start. A private
# profile directory keeps runs independent; --virtual-time-budget lets layout finish.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --no-first-run
       --user-data-dir="$profile" --virtual-time-budget=2000)
timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" > "$out/dom.html" 2> "$out/chromium-dom.log"
timeout 120 "$browser" "${flags[@]}" --window-size=1280,3000 --screenshot="$out/screenshot.png" "$url" \
  > "$out/chromium-screenshot.log" 2>&1

fail=0
count() { grep -o "$1" "$2" | wc -l; }
for element in '<table' '<figure' '<svg'; do
  in_file=$(count "$element" "$report")
  in_dom=$(count "$element" "$out/dom.html")
  if [[ "$in_dom" -ne "$in_file" || "$in_dom" -eq 0 ]]; then
    echo "check-html-report: $element: $in_file in the file, $in_dom in the DOM Chromium built" >&2
    fail=1
  else
    echo "check-html-report: $in_dom × $element rendered"
  fi
done
grep -q 'id="provenance"' "$out/dom.html" || { echo "check-html-report: no provenance section in the DOM" >&2; fail=1; }
# A blank 1280×3000 page compresses to a few kB; tables, text and figures take far more.
size=$(stat -c %s "$out/screenshot.png" 2>/dev/null || echo 0)
if [[ "$size" -lt 20000 ]]; then
  echo "check-html-report: screenshot $out/screenshot.png is ${size} bytes: blank or missing" >&2
  fail=1
else
  echo "check-html-report: screenshot $out/screenshot.png (${size} bytes)"
fi
exit $fail
