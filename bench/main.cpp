// The benchmarks run under the host's allocator policy (runner/allocator.hpp), so their figures are
// what `ecgbench run` gets; GLIBC_TUNABLES=glibc.malloc.mmap_max=65536 measures glibc's default.
#include "runner/allocator.hpp"

#include <benchmark/benchmark.h>

int main(int argc, char** argv) {
    ecgbench::retain_freed_memory();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
