// WFDB decode throughput for formats 16 and 212: a 12-signal, 500 Hz, 10-minute record (3.6 M
// samples) written once with the project's writer, then read whole, digital and physical.
// Reports MB/s of signal-file bytes and samples/s.
#include "ecgbench/wfdb.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <random>

namespace {

namespace fs = std::filesystem;
using namespace ecgbench::wfdb;

constexpr int kSignals = 12;
constexpr std::int64_t kFrames = 500 * 600;

// A record of `format` in a temp dir, created on first use: ECG-like smooth values with noise.
fs::path record_in(int format) {
    const fs::path dir = fs::temp_directory_path() / "ecgbench-bench-wfdb";
    const fs::path record = dir / ("rec" + std::to_string(format));
    if (fs::exists(record.string() + ".hea")) return record;
    fs::create_directories(dir);
    Header header;
    header.fs = 500;
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 20.0);
    std::vector<std::vector<std::int32_t>> samples(kSignals, std::vector<std::int32_t>(kFrames));
    for (int s = 0; s < kSignals; ++s) {
        SignalInfo info;
        info.gain = 200;
        info.gain_given = true;
        info.description = "lead" + std::to_string(s);
        header.signals.push_back(info);
        for (std::int64_t t = 0; t < kFrames; ++t)
            samples[s][t] = static_cast<std::int32_t>(300 * std::sin(t * 0.05 + s) + noise(rng));
    }
    write_record(record, header, samples, format);
    return record;
}

void BM_WfdbDecode(benchmark::State& state) {
    const int format = static_cast<int>(state.range(0));
    const bool physical = state.range(1) != 0;
    const auto record = record_in(format);
    const auto bytes = static_cast<double>(fs::file_size(record.string() + ".dat"));
    for (auto _ : state) {
        const auto data = read_signals(record);
        if (physical) {
            double sum = 0;
            for (int s = 0; s < kSignals; ++s)
                for (std::int64_t t = 0; t < data.rows; ++t) sum += data.physical(s, t);
            benchmark::DoNotOptimize(sum);
        } else {
            benchmark::DoNotOptimize(data.digital.data());
        }
    }
    state.counters["MB/s"] = benchmark::Counter(bytes / 1e6, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["Msamples/s"] =
        benchmark::Counter(kSignals * kFrames / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_WfdbDecode)->ArgsProduct({{16, 212}, {0, 1}})->ArgNames({"format", "physical"})->Unit(benchmark::kMillisecond);

}  // namespace
