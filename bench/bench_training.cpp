// Throughput of the pieces an experiment spends its time in: synthetic generation, the linear
// probe, and the training-step: the SimCLR step on resnet1d S (batch 64, 12 leads, 2500 samples,
// AdamW, fp32) through the real plugins and the host's training loop, plus the machine's fp32
// matmul rate as the yardstick (tells at once whether OpenBLAS or the reference BLAS is in use).
// bench/method_step.py times the identical step in Python PyTorch; README lists both.
#include "registry/registry.hpp"
#include "ecgbench/train.hpp"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <thread>

namespace {

using namespace ecgbench;

const PluginRegistry& registry() {
    static auto* reg = [] {
        // Debian's LibTorch defaults to one thread; measure with every core, as `ecgbench run` does.
        if (!std::getenv("OMP_NUM_THREADS")) torch::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
        auto* r = new PluginRegistry();
        r->load_directory(ECGBENCH_PLUGIN_DIR);
        return r;
    }();
    return *reg;
}

Params params_for(const std::string& plugin, const std::map<std::string, ParamValue>& given) {
    return validate_params(registry().find(plugin)->manifest().params, given);
}

void BM_MatmulFp32(benchmark::State& state) {
    registry();  // thread setup
    const auto n = state.range(0);
    auto a = torch::randn({n, n});
    auto b = torch::randn({n, n});
    auto c = torch::empty({n, n});
    for (auto _ : state) {
        torch::mm_out(c, a, b);
        benchmark::DoNotOptimize(c.data_ptr<float>());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
}
BENCHMARK(BM_MatmulFp32)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();

// One optimiser step of SimCLR: two augmented views, one encoder pass over both, NT-Xent,
// backward, AdamW — through the shared training engine (train()) with the runner's hooks, so the
// harness's own loop is what is measured.
// Arguments: size (0 = S, 1 = XS), loader workers (0 = batches gathered on the training thread),
// hooks (1 = the runner's progress/step-end/epoch-order hooks with no-op bodies, 0 = none: their cost).
void BM_SimclrStepResnet1d(benchmark::State& state) {
    const std::string size = state.range(0) == 0 ? "S" : "XS";
    const int workers = static_cast<int>(state.range(1));
    const bool with_hooks = state.range(2) != 0;
    constexpr std::int64_t batch = 64, leads = 12, samples = 2500;
    torch::manual_seed(0);
    const EncoderInput input{leads, samples, 250.0, {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"}};
    // No presence channels: the Python peer (simclr_step.py) is the plain 12-channel ResNet.
    auto encoder = registry().make_encoder("resnet1d", params_for("resnet1d", {{"size", size}, {"lead_mask", false}}), input);
    auto method = registry().make_ssl("simclr", params_for("simclr", {}));
    PretrainContext context;
    context.input = input;
    context.embedding_dim = encoder->embedding_dim();
    method->setup(*encoder, context);

    // Enough records for `steps` distinct batches per pretrain() call.
    constexpr std::int64_t steps = 4;
    EcgSplit data;
    data.signals = torch::randn({batch * steps, leads, samples});
    data.lead_present = torch::ones({batch * steps, leads}, torch::kBool);
    data.labels = torch::zeros({batch * steps, 0});
    data.subjects = torch::arange(batch * steps);
    TrainOptions options;
    options.epochs = 1;
    options.batch_size = batch;
    options.warmup_fraction = 0;
    options.loader_workers = workers;
    // The runner's hooks (progress, step end, epoch order) with no-op bodies, so their cost is in the figure.
    TrainHooks hooks;
    if (with_hooks) {
        hooks.on_progress = [](const TrainProgress&) {};
        hooks.on_step_end = [&](const StepState& s) { method->on_step_end(*encoder, s); };
        hooks.epoch_order = [&](std::int64_t epoch) {
            auto generator = at::detail::getDefaultCPUGenerator();
            return method->epoch_order(data, epoch, generator);
        };
    }
    auto loss = [&](const Batch& b) { return method->loss(*encoder, b); };
    train({encoder.get(), method.get()}, data, loss, options, hooks);  // warm-up: allocator, kernels
    for (auto _ : state) train({encoder.get(), method.get()}, data, loss, options, hooks);
    state.counters["samples/s"] = benchmark::Counter(static_cast<double>(batch * steps), benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel("resnet1d " + size + ", batch 64, 12x2500, AdamW fp32, " + std::to_string(at::get_num_threads()) +
                   " threads, " + std::to_string(workers) + " loader workers" + (with_hooks ? ", hooks" : ", no hooks"));
}
BENCHMARK(BM_SimclrStepResnet1d)
    ->Args({0, 1, 1})
    ->Args({0, 0, 1})
    ->Args({1, 0, 1})
    ->Args({1, 0, 0})
    ->Args({1, 1, 1})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->MinTime(20.0);

// Records/s of the synthetic generator through the plugin, all three splits (12 leads, 10 s,
// 500 Hz: the realistic-size record; default noise mix and site).
void BM_SyntheticGeneration(benchmark::State& state) {
    const std::int64_t records = state.range(0);
    for (auto _ : state) {
        auto dataset = registry().make_dataset(
            "synthetic", params_for("synthetic", {{"records", records}, {"sampling_rate", 500.0}, {"duration_s", 10.0}}));
        for (Split split : {Split::Train, Split::Val, Split::Test})
            benchmark::DoNotOptimize(dataset->load(split, dataset->info().leads).signals.data_ptr<float>());
    }
    state.SetLabel(std::to_string(at::get_num_threads()) + " threads");
    state.counters["records/s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SyntheticGeneration)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

// A linear probe on 2000 records of 512-d embeddings (the embedding step included, through a
// parameter-free encoder so that only the probe's own cost is measured).
class FlattenEncoder : public Encoder {
public:
    EncoderOutput encode(const EncoderBatch& batch) override { return {batch.signals.flatten(1), {}}; }
    std::int64_t embedding_dim() const override { return 512; }
};

void BM_LinearProbe(benchmark::State& state) {
    torch::manual_seed(0);
    auto make_split = [](std::int64_t n) {
        EcgSplit split;
        split.signals = torch::randn({n, 1, 512});
        split.labels = (split.signals.slice(2, 0, 5).squeeze(1) + 0.5 * torch::randn({n, 5}) > 0).to(torch::kFloat);
        split.lead_present = torch::ones({n, 1}, torch::kBool);
        split.subjects = torch::arange(n);
        return split;
    };
    const auto train = make_split(1400), val = make_split(300), test = make_split(300);
    DatasetInfo info;
    info.classes = {"a", "b", "c", "d", "e"};
    auto encoder = std::make_shared<FlattenEncoder>();
    auto task = registry().make_task("linear_probe", params_for("linear_probe", {}));
    for (auto _ : state) {
        EvalContext context{encoder, {}, {}, torch::kCPU, info, train, val, test, 0, [](const std::string&) {}};
        benchmark::DoNotOptimize(task->evaluate(context));
    }
}
BENCHMARK(BM_LinearProbe)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
