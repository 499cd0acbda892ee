#!/usr/bin/python3
"""The Python peer of the WFDB read benchmark (BM_WfdbRecord100 in bench_wfdb.cpp): wfdb-python's
rdrecord on MIT-BIH record 100 (2 x 650,000 samples, format 212), whole record, digital
(physical=False, int64 d_signal) and physical (float64 p_signal; float32 with return_res=32).

    PYTHONPATH=/path/to/wfdb-python /usr/bin/python3 bench/wfdb_peer.py [--record R] [--repeats 9]
        [--cpp build/ecgbench_bench]

prints the median wall and CPU (process) time of `repeats` reads of each kind (one warm-up read
first, so both sides read from the page cache); on a shared machine the CPU times are the steadier
comparison. With --cpp, runs BM_WfdbRecord100 of that benchmark binary
(same number of repetitions) first and prints the C++ / Python speed ratios. wfdb-python is not
packaged in Debian 12: when `import wfdb` fails the script says so and exits 0 (nothing to compare).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RECORD = os.path.join(HERE, "..", "..", "shared", "data", "wfdb-python", "sample-data", "100")

# BM_WfdbRecord100 modes (bench_wfdb.cpp) and the Python read each is compared with.
CPP_MODES = {
    0: ("read_signals (digital int32)", "digital"),
    1: ("read_signals + physical() per sample -> float32", "physical float32"),
    2: ("read_physical<float>", "physical float32"),
    3: ("read_physical<double>", "physical float64"),
    4: ("read_digital (int32 matrix)", "digital"),
}


def median_ms(read, repeats):
    """(wall, cpu) medians in ms."""
    read()  # warm-up: page cache, imports, allocator
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        read()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def cpp_medians(binary, repeats):
    out = subprocess.run(
        [binary, "--benchmark_filter=BM_WfdbRecord100", f"--benchmark_repetitions={repeats}",
         "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median" and "error_occurred" not in b:
            mode = int(b["run_name"].split("mode:")[1])
            scale = {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
            medians[mode] = (b["real_time"] * scale, b["cpu_time"] * scale)
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", default=DEFAULT_RECORD, help="WFDB record path without extension")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--cpp", help="ecgbench_bench binary: also time BM_WfdbRecord100 and print ratios")
    args = parser.parse_args()
    try:
        import numpy  # noqa: F401  (wfdb needs it; a clearer message than wfdb's own import error)
        import wfdb
    except ImportError as e:
        print(f"wfdb_peer: skipped, wfdb-python is not importable ({e}); "
              "put a wfdb-python checkout on PYTHONPATH (needs numpy, scipy, pandas, fsspec, soundfile)")
        return 0
    if not os.path.exists(args.record + ".hea"):
        print(f"wfdb_peer: skipped, record {args.record}.hea not found")
        return 0

    cpp = cpp_medians(args.cpp, args.repeats) if args.cpp else {}
    py = {
        "digital": median_ms(lambda: wfdb.rdrecord(args.record, physical=False), args.repeats),
        "physical float64": median_ms(lambda: wfdb.rdrecord(args.record), args.repeats),
        "physical float32": median_ms(lambda: wfdb.rdrecord(args.record, return_res=32), args.repeats),
    }
    print(f"record {os.path.normpath(args.record)}, medians of {args.repeats}, "
          f"wfdb-python {getattr(wfdb, '__version__', '?')}, numpy {numpy.__version__}")
    for kind, (wall, cpu) in py.items():
        print(f"  rdrecord {kind:<18} wall {wall:8.2f} ms  cpu {cpu:8.2f} ms")
    for mode, (wall, cpu) in sorted(cpp.items()):
        label, kind = CPP_MODES[mode]
        print(f"  C++ {label:<48} wall {wall:8.2f} ms  cpu {cpu:8.2f} ms   vs rdrecord {kind}: "
              f"{py[kind][0] / wall:5.2f}x wall, {py[kind][1] / cpu:5.2f}x cpu")
    return 0


if __name__ == "__main__":
    sys.exit(main())
