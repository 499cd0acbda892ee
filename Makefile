# The README's two commands: `make run` (quick-start experiment + report) and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
STORE ?= results/ecgbench.db
ECGBENCH := $(BUILD_DIR)/ecgbench

.PHONY: all deps configure build run test bench reports clean

all: build

deps:
	@tools/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(ECGBENCH) run experiments/quickstart.toml --store $(STORE)
	$(ECGBENCH) report quickstart --store $(STORE) --out reports/quickstart --format md,tex,csv,html,svg

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The committed example reports (reports/examples/ and the store they come from): reruns the quick
# start and each paper experiment's synthetic profile (25 min on a loaded 2-vCPU machine, less idle), then renders
# every report type. CTest ReportsUpToDate fails when the committed files no longer match the code.
reports: build
	@tools/install-deps.sh --reports
	tools/make-reports.sh $(BUILD_DIR) regenerate

# The C++ benchmarks, then the Python PyTorch peers of the training steps (same machine, same run),
# then wfdb-python's rdrecord beside the C++ reader (WFDB_PYTHON: a wfdb-python checkout, which
# Debian does not package; without it the peer says it is skipped).
# The Python peers run at glibc's defaults, then under the host's allocator policy (HOST_MALLOC,
# harness/src/runner/allocator.hpp).
WFDB_PYTHON ?=
HOST_MALLOC := glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647
bench: build
	@tools/install-deps.sh --bench
	$(BUILD_DIR)/ecgbench_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	for method in simclr byol clef st_mem; do /usr/bin/python3 bench/method_step.py --method $$method; done
	for method in simclr byol clef st_mem; do GLIBC_TUNABLES=$(HOST_MALLOC) /usr/bin/python3 bench/method_step.py --method $$method; done
	PYTHONPATH=$(WFDB_PYTHON) /usr/bin/python3 bench/wfdb_peer.py --cpp $(BUILD_DIR)/ecgbench_bench

clean:
	rm -rf $(BUILD_DIR)
