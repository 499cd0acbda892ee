#!/usr/bin/env python3
"""12-lead ECG records side by side as one SVG on ECG paper (standard library only).

Usage: tools/plot_ecg.py OUT.svg RECORD[=TITLE] [RECORD[=TITLE] ...] [--seconds 4] [--ecgbench build/ecgbench]

Reads each WFDB record through `ecgbench wfdb read -P`, so every format the reader knows works
(.dat, .mat). Leads are found by name (I ... V6, any case), shown in two columns of six, 10 mm/mV and
25 mm/s, each lead's median removed.
"""
import argparse
import subprocess
from pathlib import Path

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
MM = 3.0  # SVG units per millimetre


def read_record(ecgbench, record, seconds):
    header = Path(record + ".hea").read_text().splitlines()
    first = header[0].split()
    nsig, fs = int(first[1]), float(first[2].split("/")[0])
    names = [line.split()[-1] for line in header[1:1 + nsig]]
    out = subprocess.run([ecgbench, "wfdb", "read", "-P", "-t", str(seconds), record],
                         check=True, capture_output=True, text=True).stdout
    rows = [[float(v) if v.strip() != "-" else float("nan") for v in line.split("\t")[1:]]
            for line in out.splitlines() if line.strip()]
    by_name = {}
    for k, name in enumerate(names):
        canonical = next((lead for lead in LEADS if lead.lower() == name.lower()), None)
        if canonical:
            by_name[canonical] = [row[k] for row in rows]
    return fs, by_name


def panel(fs, leads, x0, y0, seconds, title):
    width, row_height = seconds * 25 * MM, 22 * MM
    parts = [f'<text x="{x0}" y="{y0 - 6}" font-family="sans-serif" font-size="14">{title}</text>']
    total_w, total_h = 2 * width + 10 * MM, 6 * row_height
    for mm in range(0, int(total_w / MM) + 1):  # grid: 1 mm minor, 5 mm major
        x = x0 + mm * MM
        parts.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + total_h:.1f}" '
                     f'stroke="#f4b6b6" stroke-width="{0.8 if mm % 5 == 0 else 0.25}"/>')
    for mm in range(0, int(total_h / MM) + 1):
        y = y0 + mm * MM
        parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + total_w:.1f}" y2="{y:.1f}" '
                     f'stroke="#f4b6b6" stroke-width="{0.8 if mm % 5 == 0 else 0.25}"/>')
    step = max(1, int(round(fs / 250)))  # draw at <= 250 Hz
    for k, name in enumerate(LEADS):
        column, row = divmod(k, 6)
        lx, baseline = x0 + column * (width + 10 * MM), y0 + (row + 0.5) * row_height
        parts.append(f'<text x="{lx + 2}" y="{baseline - 6 * MM}" font-family="sans-serif" font-size="11">{name}</text>')
        values = leads.get(name)
        if not values:
            continue
        finite = sorted(v for v in values if v == v)
        median = finite[len(finite) // 2] if finite else 0.0
        points = []
        for n in range(0, len(values), step):
            if values[n] == values[n]:
                points.append(f"{lx + n / fs * 25 * MM:.1f},{baseline - (values[n] - median) * 10 * MM:.1f}")
        parts.append(f'<polyline fill="none" stroke="black" stroke-width="0.9" points="{" ".join(points)}"/>')
    return parts, total_w, total_h


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("records", nargs="+", help="RECORD or RECORD=TITLE")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--ecgbench", default="build/ecgbench")
    args = parser.parse_args()
    parts, x, height = [], 10.0, 0.0
    for spec in args.records:
        record, _, title = spec.partition("=")
        fs, leads = read_record(args.ecgbench, record, args.seconds)
        body, w, h = panel(fs, leads, x, 30.0, args.seconds, title or Path(record).name)
        parts += body
        x += w + 20
        height = max(height, h)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{x:.0f}" height="{height + 40:.0f}" '
           f'viewBox="0 0 {x:.0f} {height + 40:.0f}"><rect width="100%" height="100%" fill="white"/>'
           + "".join(parts) + "</svg>\n")
    Path(args.out).write_text(svg)


if __name__ == "__main__":
    main()
