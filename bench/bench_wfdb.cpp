// WFDB decode throughput for formats 16 and 212: a 12-signal, 500 Hz, 10-minute record (3.6 M
// samples) written once with the project's writer, then read whole, digital and physical.
// Reports MB/s of signal-file bytes and samples/s. BM_WfdbRecord100 reads MIT-BIH record 100
// from the shared data (2 × 650,000 samples, format 212) whole, the way bench/wfdb_peer.py times
// wfdb-python's rdrecord on it: digital, physical per sample, and the one-pass physical matrix.
#include "ecgbench/wfdb.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

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

// mode 0: read_signals (digital int32 columns); 1: read_signals, then physical(signal, row) per
// sample into a row-major float matrix (the way before read_physical); 2 / 3: read_physical
// float / double (row-major, as rdrecord's p_signal); 4: read_digital (one row-major int32 matrix,
// as rdrecord's d_signal).
void BM_WfdbRecord100(benchmark::State& state) {
    const fs::path record = fs::path(ECGBENCH_SHARED_DATA) / "wfdb-python" / "sample-data" / "100";
    if (!fs::exists(record.string() + ".hea")) {
        state.SkipWithError(("shared data absent: " + record.string()).c_str());
        return;
    }
    const auto mode = state.range(0);
    std::int64_t samples = 0;
    for (auto _ : state) {
        if (mode == 0) {
            const auto data = read_signals(record);
            benchmark::DoNotOptimize(data.digital.data());
            samples = data.rows * static_cast<std::int64_t>(data.signals.size());
        } else if (mode == 1) {
            const auto data = read_signals(record);
            const auto nsig = data.signals.size();
            std::vector<float> matrix(static_cast<std::size_t>(data.rows) * nsig);
            for (std::int64_t t = 0; t < data.rows; ++t)
                for (std::size_t s = 0; s < nsig; ++s)
                    matrix[static_cast<std::size_t>(t) * nsig + s] = static_cast<float>(data.physical(s, t));
            benchmark::DoNotOptimize(matrix.data());
            samples = static_cast<std::int64_t>(matrix.size());
        } else if (mode == 2) {
            const auto m = read_physical<float>(record);
            benchmark::DoNotOptimize(m.values.data());
            samples = static_cast<std::int64_t>(m.values.size());
        } else if (mode == 3) {
            const auto m = read_physical<double>(record);
            benchmark::DoNotOptimize(m.values.data());
            samples = static_cast<std::int64_t>(m.values.size());
        } else {
            const auto m = read_digital(record);
            benchmark::DoNotOptimize(m.values.data());
            samples = static_cast<std::int64_t>(m.values.size());
        }
    }
    state.counters["Msamples/s"] =
        benchmark::Counter(static_cast<double>(samples) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_WfdbRecord100)->DenseRange(0, 4)->ArgName("mode")->Unit(benchmark::kMillisecond);

}  // namespace
