// Training throughput and peak memory of every shipped SSL method: one pretraining of `kSteps`
// optimiser steps (batch 64, 12 leads x 2500 samples, AdamW, fp32, no loader thread) through the
// real plugins and the shared training engine, on resnet1d S and xresnet1d50; the masked-token
// methods (st_mem, jepa, mtfp) on vit1d XS, S and M (patches of 75 samples: 12 x 33 tokens; M once, not 3
// times: one of its steps takes minutes on a CPU). Methods that need
// metadata get it in the random split: subjects (3 records each), a risk-score covariate, labels.
//
// Peak memory: the kernel's high-water mark of the resident set (VmHWM), reset before each
// benchmark by writing 5 to /proc/self/clear_refs (after release_free_heap() hands the previous
// benchmark's freed memory back), minus the resident set at that moment: the memory one method's
// training adds on top of the process (weights, activations, optimiser state, allocator caching). bench/method_step.py measures its Python peers the same way.
//
// ECGBENCH_BENCH_DEVICE=cuda (or auto) trains on the GPU — bf16 autocast with ECGBENCH_BENCH_PRECISION=bf16,
// batches pinned and copied asynchronously — and the samples/s are then the device's; the peak
// memory stays the host's (the GPU's is the peer's torch.cuda.max_memory_allocated).
#include "registry/registry.hpp"
#include "runner/allocator.hpp"
#include "ecgbench/train.hpp"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>

namespace {

using namespace ecgbench;

const PluginRegistry& registry() {
    static auto* reg = [] {
        if (!std::getenv("OMP_NUM_THREADS")) torch::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
        auto* r = new PluginRegistry();
        r->load_directory(ECGBENCH_PLUGIN_DIR);
        return r;
    }();
    return *reg;
}

/// A field of /proc/self/status in KiB ("VmRSS", "VmHWM").
double status_kib(const std::string& field) {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1));
    }
    return 0;
}

void reset_peak_rss() {
    release_free_heap();
    std::ofstream("/proc/self/clear_refs") << "5";
}

/// The encoders measured. resnet1d without its lead-mask channels: the Python peers' architecture
/// exactly (8,737,408 parameters). vit1d at its default patch of 75 samples, as the ST-MEM peer.
std::map<std::string, ParamValue> encoder_params(const std::string& encoder, const std::string& size) {
    if (encoder == "resnet1d") return {{"size", size}, {"lead_mask", false}};
    if (encoder == "vit1d") return {{"size", size}};
    return {{"depth", size}};
}

/// Batch size: 64, or ECGBENCH_BENCH_BATCH (for a model whose batch of 64 does not fit in memory);
/// 0 when that is not a positive integer.
std::int64_t bench_batch() {
    const char* value = std::getenv("ECGBENCH_BENCH_BATCH");
    return value ? std::max(0LL, std::atoll(value)) : 64;
}

void BM_MethodStep(benchmark::State& state, const std::string& method_name, const std::string& encoder_name, const std::string& size) {
    const auto* method_plugin = registry().find(method_name);
    const auto* encoder_plugin = registry().find(encoder_name);
    if (!method_plugin || !encoder_plugin) {
        state.SkipWithError(("plugin not built: " + (method_plugin ? encoder_name : method_name)).c_str());
        return;
    }
    constexpr std::int64_t leads = 12, samples = 2500, steps = 2;
    const std::int64_t batch = bench_batch();
    if (batch == 0) {
        state.SkipWithError("ECGBENCH_BENCH_BATCH is not a positive integer");
        return;
    }
    torch::manual_seed(0);
    const EncoderInput input{leads, samples, 250.0, {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"}};
    const std::int64_t rows = batch * steps;
    EcgSplit data;
    data.signals = torch::randn({rows, leads, samples});
    data.lead_present = torch::ones({rows, leads}, torch::kBool);
    data.labels = (torch::rand({rows, 5}) < 0.3).to(torch::kFloat);
    data.subjects = torch::arange(rows).floor_divide(3);
    data.covariates["risk_score"] = torch::rand({rows}) * 30;

    reset_peak_rss();
    const double rss_before = status_kib("VmRSS");
    auto encoder = registry().make_encoder(encoder_name, validate_params(encoder_plugin->manifest().params, encoder_params(encoder_name, size)), input);
    auto method = registry().make_ssl(method_name, validate_params(method_plugin->manifest().params, {}));
    PretrainContext context;
    context.input = input;
    context.embedding_dim = encoder->embedding_dim();
    context.token_count = encoder->token_count();
    context.classes = {"a", "b", "c", "d", "e"};
    context.covariates = {"risk_score"};
    context.batch_size = batch;
    context.total_steps = steps;
    context.data = &data;
    context.copy_encoder = [&]() {
        auto copy = registry().make_encoder(encoder_name, validate_params(encoder_plugin->manifest().params, encoder_params(encoder_name, size)), input);
        copy_module_state(*encoder, *copy);
        return copy;
    };
    const char* device_env = std::getenv("ECGBENCH_BENCH_DEVICE");
    const char* precision_env = std::getenv("ECGBENCH_BENCH_PRECISION");
    const std::string device = resolve_device(device_env ? device_env : "cpu");
    encoder->to(torch::Device(device));
    method->setup(*encoder, context);
    method->to(torch::Device(device));

    TrainOptions options;
    options.device = device;
    options.precision = precision_env ? precision_env : "fp32";
    options.epochs = 1;
    options.batch_size = batch;
    options.warmup_fraction = 0;
    options.loader_workers = 0;
    TrainHooks hooks;
    hooks.on_step_end = [&](const StepState& s) { method->on_step_end(*encoder, s); };
    hooks.epoch_order = [&](std::int64_t epoch) {
        auto generator = at::detail::getDefaultCPUGenerator();
        return method->epoch_order(data, epoch, generator);
    };
    auto loss = [&](const Batch& b) { return method->loss(*encoder, b); };
    TrainOptions warm_up = options;  // one step: allocator, kernels
    warm_up.max_steps = 1;
    train({encoder.get(), method.get()}, data, loss, warm_up, hooks);
    for (auto _ : state) train({encoder.get(), method.get()}, data, loss, options, hooks);
    state.counters["samples/s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_MiB"] = (status_kib("VmHWM") - rss_before) / 1024.0;
    std::int64_t parameters = 0;
    for (const auto& p : encoder->parameters()) parameters += p.numel();
    state.SetLabel(encoder_name + " " + size + " (" + std::to_string(parameters) + " params), batch " + std::to_string(batch) + ", 12x2500, AdamW " +
                   options.precision + ", " + device + ", " + std::to_string(at::get_num_threads()) + " threads");
}

#define ECGBENCH_METHOD_BENCH(method)                                                                        \
    BENCHMARK_CAPTURE(BM_MethodStep, method##_resnet1d_S, #method, "resnet1d", "S")                          \
        ->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1)->Repetitions(3);                            \
    BENCHMARK_CAPTURE(BM_MethodStep, method##_xresnet1d50, #method, "xresnet1d", "50")                      \
        ->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1)->Repetitions(3)
#define ECGBENCH_TOKEN_METHOD_BENCH(method)                                                                  \
    BENCHMARK_CAPTURE(BM_MethodStep, method##_vit1d_XS, #method, "vit1d", "XS")                              \
        ->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1)->Repetitions(3);                            \
    BENCHMARK_CAPTURE(BM_MethodStep, method##_vit1d_S, #method, "vit1d", "S")                                \
        ->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1)->Repetitions(3);                            \
    BENCHMARK_CAPTURE(BM_MethodStep, method##_vit1d_M, #method, "vit1d", "M")                                \
        ->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1)->Repetitions(1)

ECGBENCH_METHOD_BENCH(simclr);
ECGBENCH_METHOD_BENCH(byol);
ECGBENCH_METHOD_BENCH(cmsc);
ECGBENCH_METHOD_BENCH(clef);
ECGBENCH_METHOD_BENCH(tolerant);
ECGBENCH_METHOD_BENCH(cpc);
ECGBENCH_METHOD_BENCH(supervised);
ECGBENCH_METHOD_BENCH(heartlang);
ECGBENCH_TOKEN_METHOD_BENCH(st_mem);
ECGBENCH_TOKEN_METHOD_BENCH(jepa);
ECGBENCH_TOKEN_METHOD_BENCH(mtfp);

}  // namespace
