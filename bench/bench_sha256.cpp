// SHA-256 throughput on a 64 MiB buffer (the size of a large checkpoint or cache shard), fed in
// 1 MiB updates as sha256_file streams a file. Reports MB/s.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "ecgbench/sha256.hpp"

namespace {

void BM_Sha256_64MiB(benchmark::State& state) {
    constexpr std::size_t kSize = 64u << 20, kChunk = 1u << 20;
    std::string buffer(kSize, '\0');
    std::mt19937_64 rng(11);
    for (char& c : buffer) c = static_cast<char>(rng());
    for (auto _ : state) {
        ecgbench::Sha256 hasher;
        for (std::size_t offset = 0; offset < kSize; offset += kChunk) hasher.update(buffer.data() + offset, kChunk);
        benchmark::DoNotOptimize(hasher.hex_digest());
    }
    state.counters["MB/s"] = benchmark::Counter(kSize / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Sha256_64MiB)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace
