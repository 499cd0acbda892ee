// The shared training engine (ecgbench/train.hpp): resume after a kill gives the same result as an
// uninterrupted run, the NaN guard names the step, clipping and EMA against hand-computed values,
// hooks and full batches.
#include "ecgbench/train.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>
#include <torch/serialize.h>

#include <cmath>
#include <filesystem>
#include <numbers>

namespace {

namespace fs = std::filesystem;
using ecgbench::Batch;
using ecgbench::EcgSplit;
using ecgbench::Loss;
using ecgbench::TrainHooks;
using ecgbench::TrainOptions;

EcgSplit toy_data(std::int64_t n) {
    at::manual_seed(7);
    EcgSplit s;
    s.signals = at::randn({n, 1, 4});
    s.lead_present = at::ones({n, 1}, at::kBool);
    s.labels = (s.signals.select(2, 0) > 0).to(at::kFloat);
    s.subjects = at::arange(n, at::kLong) / 2;
    s.source_records = at::arange(n, at::kLong) / 3;
    for (std::int64_t i = 0; i < n; ++i) {
        s.record_ids.push_back("r" + std::to_string(i));
        s.texts.push_back("report " + std::to_string(i));
    }
    s.covariates["age"] = at::arange(n, at::kFloat);
    return s;
}

struct Toy : torch::nn::Module {
    Toy() : linear(register_module("linear", torch::nn::Linear(4, 1))) {}
    torch::nn::Linear linear;
};

/// A noisy regression loss (dropout-like random mask from the global generator), so that a resumed
/// run only matches when the random stream is restored too.
Loss toy_loss(Toy& model, const Batch& batch) {
    const at::Tensor x = batch.signals.flatten(1) * (at::rand({batch.size(), 4}) > 0.2).to(at::kFloat);
    const at::Tensor error = model.linear->forward(x).squeeze(1) - batch.labels.select(1, 0);
    return Loss(error.pow(2).mean(), {{"abs", error.abs().mean().detach()}});
}

std::string temp_path(const std::string& name) {
    const auto dir = fs::temp_directory_path() / ("ecgbench_train_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

TEST(Train, KilledAndResumedRunEndsExactlyLikeAnUninterruptedOne) {
    const EcgSplit data = toy_data(40);
    TrainOptions options;
    options.epochs = 3;
    options.batch_size = 8;
    options.learning_rate = 0.05;
    options.checkpoint_every = 2;

    torch::manual_seed(3);
    Toy reference;
    const auto full = ecgbench::train({&reference}, data, [&](const Batch& b) { return toy_loss(reference, b); }, options);
    ASSERT_EQ(full.steps, 15);

    options.resume_path = temp_path("resume.pt");
    fs::remove(options.resume_path);
    std::atomic<bool> stop{false};
    TrainHooks hooks;
    hooks.stop = &stop;
    hooks.on_progress = [&](const ecgbench::TrainProgress& p) {
        if (p.step == 7) stop = true;  // "killed" after step 7 (state written after step 6)
    };
    torch::manual_seed(3);
    Toy interrupted;
    EXPECT_THROW(ecgbench::train({&interrupted}, data, [&](const Batch& b) { return toy_loss(interrupted, b); }, options, hooks),
                 ecgbench::Interrupted);
    ASSERT_TRUE(fs::exists(options.resume_path));

    // A new process: a fresh model, a different random state, the same cell.
    torch::manual_seed(99);
    Toy resumed;
    const auto second = ecgbench::train({&resumed}, data, [&](const Batch& b) { return toy_loss(resumed, b); }, options);
    EXPECT_EQ(second.resumed_from_step, 6);
    EXPECT_EQ(second.steps, 15);
    EXPECT_DOUBLE_EQ(second.final_loss, full.final_loss);
    ASSERT_EQ(second.epochs.size(), full.epochs.size());
    for (std::size_t e = 0; e < full.epochs.size(); ++e) {
        EXPECT_DOUBLE_EQ(second.epochs[e].loss, full.epochs[e].loss) << "epoch " << e + 1;
        EXPECT_DOUBLE_EQ(second.epochs[e].terms.at("abs"), full.epochs[e].terms.at("abs"));
    }
    EXPECT_TRUE(at::equal(resumed.linear->weight, reference.linear->weight));
    EXPECT_FALSE(fs::exists(options.resume_path)) << "the resume state is removed once the run finishes";
}

TEST(Train, NonFiniteLossFailsNamingTheStep) {
    const EcgSplit data = toy_data(16);
    Toy model;
    TrainOptions options;
    options.epochs = 2;
    options.batch_size = 4;
    int calls = 0;
    try {
        ecgbench::train({&model}, data, [&](const Batch& b) {
            Loss loss = toy_loss(model, b);
            if (++calls == 6) loss.total = loss.total * std::nan("");
            return loss;
        }, options);
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("at epoch 2, step 6"), std::string::npos) << e.what();
    }
}

TEST(Train, GradientClippingBoundsTheUpdate) {
    const EcgSplit data = toy_data(8);
    Toy model;
    const at::Tensor before = model.linear->weight.detach().clone();
    const at::Tensor bias_before = model.linear->bias.detach().clone();
    TrainOptions options;
    options.epochs = 1;
    options.batch_size = 8;
    options.optimizer = "sgd";
    options.momentum = 0;
    options.weight_decay = 0;
    options.warmup_fraction = 0;
    options.learning_rate = 1.0;
    options.grad_clip_norm = 0.01;
    // Loss with a large gradient: one SGD step at lr 1 moves the parameters by exactly the clip norm.
    ecgbench::train({&model}, data, [&](const Batch& b) { return Loss(100.0 * model.linear->forward(b.signals.flatten(1)).sum()); },
                    options);
    const double moved = std::sqrt((model.linear->weight - before).pow(2).sum().item<double>() +
                                   (model.linear->bias - bias_before).pow(2).sum().item<double>());
    EXPECT_NEAR(moved, 0.01, 1e-6);
}

TEST(Train, EmaOfWeightsMatchesTheHandComputedAverage) {
    // One scalar weight w, loss (w - 3)^2 on every batch, SGD without momentum: w_{t+1} = w_t - lr_t·2(w_t - 3),
    // ema_{t+1} = d·ema_t + (1 - d)·w_{t+1}, and training ends on the EMA.
    struct Scalar : torch::nn::Module {
        Scalar() : w(register_parameter("w", torch::zeros({1}))) {}
        at::Tensor w;
    } model;
    const EcgSplit data = toy_data(12);
    TrainOptions options;
    options.epochs = 2;
    options.batch_size = 4;  // 6 steps
    options.optimizer = "sgd";
    options.momentum = 0;
    options.weight_decay = 0;
    options.warmup_fraction = 0;
    options.learning_rate = 0.1;
    options.ema_decay = 0.5;
    ecgbench::train({&model}, data, [&](const Batch&) { return Loss((model.w - 3).pow(2).sum()); }, options);
    double w = 0, ema = 0;
    for (int t = 0; t < 6; ++t) {
        const double lr = 0.1 * 0.5 * (1 + std::cos(std::numbers::pi * t / 6.0));
        w -= lr * 2 * (w - 3);
        ema = 0.5 * ema + 0.5 * w;
    }
    EXPECT_NEAR(model.w.item<double>(), ema, 1e-6);
}

TEST(Train, BatchesCarryEveryFieldAndFollowTheEpochOrder) {
    const EcgSplit data = toy_data(12);
    Toy model;
    TrainOptions options;
    options.epochs = 2;
    options.batch_size = 5;  // 2 full batches per epoch; the ragged 2 records are dropped
    std::vector<std::int64_t> steps_seen;
    TrainHooks hooks;
    hooks.epoch_order = [](std::int64_t epoch) { return epoch == 1 ? at::arange(11, -1, -1, at::kLong) : at::Tensor(); };
    hooks.on_step_end = [&](const ecgbench::StepState& s) { steps_seen.push_back(s.step); };
    std::vector<Batch> batches;
    const auto report = ecgbench::train({&model}, data, [&](const Batch& b) {
        batches.push_back(b);
        return toy_loss(model, b);
    }, options, hooks);
    EXPECT_EQ(report.steps, 4);
    EXPECT_EQ(steps_seen, (std::vector<std::int64_t>{1, 2, 3, 4}));
    ASSERT_EQ(batches.size(), 4u);
    const Batch& first = batches.front();
    EXPECT_EQ(first.size(), 5);
    EXPECT_EQ(first.rows[0].item<std::int64_t>(), 11);  // epoch 1 in the method's order
    EXPECT_EQ(first.record_ids.front(), "r11");
    EXPECT_EQ(first.texts.front(), "report 11");
    EXPECT_EQ(first.covariates.at("age")[0].item<float>(), 11.0f);
    EXPECT_EQ(first.source_records[0].item<std::int64_t>(), 3);  // row 11 was cut from record 11 / 3
    EXPECT_EQ(first.subjects[0].item<std::int64_t>(), 5);
    EXPECT_EQ(report.epochs.size(), 2u);
    EXPECT_GT(report.epochs.front().terms.at("abs"), 0.0);
}

TEST(Train, Bf16RunsWhereTheCpuHasItAndIsRefusedClearlyElsewhere) {
    if (!ecgbench::cpu_has_bf16()) {
        try {
            ecgbench::check_precision("bf16", "cpu");
            FAIL() << "bf16 accepted on a CPU without AVX512-BF16/AMX";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("AVX512-BF16"), std::string::npos) << e.what();
        }
        GTEST_SKIP() << "this CPU has no native bf16: only the refusal was checked";
    }
    const EcgSplit data = toy_data(32);
    torch::manual_seed(0);
    Toy model;
    TrainOptions options;
    options.epochs = 4;
    options.batch_size = 8;
    options.precision = "bf16";
    options.learning_rate = 0.05;
    bool autocast_seen = false;
    const auto report = ecgbench::train({&model}, data, [&](const Batch& b) {
        const at::Tensor y = model.linear->forward(b.signals.flatten(1));
        autocast_seen = autocast_seen || y.scalar_type() == at::kBFloat16;  // linear runs in bf16 under autocast
        return Loss((y.to(at::kFloat).squeeze(1) - b.labels.select(1, 0)).pow(2).mean());
    }, options);
    EXPECT_TRUE(autocast_seen);
    EXPECT_TRUE(std::isfinite(report.final_loss));
    EXPECT_EQ(model.linear->weight.scalar_type(), at::kFloat);  // master weights stay fp32
}

TEST(Train, RejectsUnknownOptimiserAndPrecision) {
    const EcgSplit data = toy_data(8);
    Toy model;
    TrainOptions options;
    options.optimizer = "lamb";
    EXPECT_THROW(ecgbench::train({&model}, data, [&](const Batch& b) { return toy_loss(model, b); }, options),
                 std::invalid_argument);
    EXPECT_THROW(ecgbench::check_precision("fp16", "cpu"), std::invalid_argument);
}

TEST(Train, GroupsTrainAtTheirOwnShareOfTheLearningRate) {
    // Two scalar weights with the same loss (w − 3)², plain SGD at a constant rate (one step, no
    // warm-up: the cosine is still at its peak): one step moves w by lr·scale·2·3 from 0.
    struct Scalar : torch::nn::Module {
        Scalar() : w(register_parameter("w", torch::zeros({1}))) {}
        at::Tensor w;
    } head, encoder;
    const EcgSplit data = toy_data(4);
    TrainOptions options;
    options.epochs = 1;
    options.batch_size = 4;  // one step
    options.optimizer = "sgd";
    options.momentum = 0;
    options.weight_decay = 0;
    options.warmup_fraction = 0;
    options.learning_rate = 0.1;
    ecgbench::train(std::vector<ecgbench::TrainGroup>{{&head, 1.0}, {&encoder, 0.1}}, data,
                    [&](const Batch&) { return Loss((head.w - 3).pow(2).sum() + (encoder.w - 3).pow(2).sum()); }, options);
    EXPECT_NEAR(head.w.item<double>(), 0.6, 1e-6);
    EXPECT_NEAR(encoder.w.item<double>(), 0.06, 1e-6);
}

TEST(Train, EpochHookStopsTrainingEarlyAndSeesEveryEpoch) {
    const EcgSplit data = toy_data(12);
    Toy model;
    TrainOptions options;
    options.epochs = 5;
    options.batch_size = 4;  // 3 steps per epoch
    std::vector<std::int64_t> seen;
    TrainHooks hooks;
    hooks.on_epoch_end = [&](const ecgbench::EpochSummary& epoch) {
        seen.push_back(epoch.epoch);
        model.eval();  // the engine puts the modules back into training mode
        return epoch.epoch < 2;
    };
    bool training_after_hook = false;
    hooks.on_step_end = [&](const ecgbench::StepState&) { training_after_hook = model.is_training(); };
    const auto report = ecgbench::train({&model}, data, [&](const Batch& b) { return toy_loss(model, b); }, options, hooks);
    EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 2}));
    EXPECT_TRUE(report.stopped_early);
    EXPECT_EQ(report.steps, 6);
    EXPECT_EQ(report.epochs.size(), 2u);
    EXPECT_TRUE(training_after_hook);
}

}  // namespace
