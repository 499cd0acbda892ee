// The encoder and SSL plugins, loaded from the built plugin libraries through the registry exactly
// as the host loads them: architecture sizes, output shapes, and that each method's loss trains.
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <map>
#include <numbers>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::PluginKind;

using test_support::registry;

std::string failures() {
    std::ostringstream out;
    for (const auto& f : registry().failures()) out << "\n  " << f.path << ": " << f.reason;
    return out.str();
}

ecgbench::Params params_for(const std::string& name, PluginKind kind,
                            const std::map<std::string, ecgbench::ParamValue>& given = {}) {
    return ecgbench::validate_params(registry().require(name, kind).manifest().params, given);
}

ecgbench::EncoderInput input(std::int64_t leads, std::int64_t samples) {
    ecgbench::EncoderInput in;
    in.leads = leads;
    in.samples = samples;
    in.sampling_rate_hz = 250;
    return in;
}

ecgbench::EncoderPtr resnet(const std::string& size, std::int64_t leads = 12, std::int64_t samples = 2500) {
    return registry().make_encoder("resnet1d", params_for("resnet1d", PluginKind::Encoder, {{"size", size}}),
                                   input(leads, samples));
}

std::int64_t parameter_count(torch::nn::Module& module) {
    std::int64_t n = 0;
    for (const auto& p : module.parameters()) n += p.numel();
    return n;
}

TEST(ModelPlugins, AllLoad) {
    for (const auto& [name, kind] : std::vector<std::pair<std::string, PluginKind>>{
             {"resnet1d", PluginKind::Encoder},
             {"simclr", PluginKind::Ssl},
             {"supervised", PluginKind::Ssl},
             {"random_init", PluginKind::Ssl}}) {
        const auto* plugin = registry().find(name);
        ASSERT_NE(plugin, nullptr) << name << " not found in " << ECGBENCH_PLUGIN_DIR << failures();
        EXPECT_EQ(plugin->manifest().kind, kind) << name;
        EXPECT_FALSE(plugin->manifest().summary.empty()) << name;
    }
}

// The S size is the ResNet-18 layout; its count is fixed by the architecture (see resnet1d.cpp:
// stem 11,648 + stage 1 115,200 + stage 2 410,880 + stage 3 1,640,960 + stage 4 6,558,720).
TEST(ResNet1d, SmallHasExactParameterCount) {
    const auto encoder = resnet("S");
    EXPECT_EQ(parameter_count(*encoder), 8'737'408);
    EXPECT_EQ(encoder->embedding_dim(), 512);
}

TEST(ResNet1d, OtherSizesParameterCounts) {
    EXPECT_EQ(parameter_count(*resnet("XS")), 244'448);
    EXPECT_EQ(resnet("XS")->embedding_dim(), 128);
    EXPECT_EQ(parameter_count(*resnet("M")), 13'615'488);
    EXPECT_EQ(resnet("M")->embedding_dim(), 512);
    // Only the stem depends on the lead count: 11 fewer leads remove 11·64·15 weights.
    EXPECT_EQ(parameter_count(*resnet("S", 1)), 8'737'408 - 11 * 64 * 15);
}

TEST(ResNet1d, SmallOutputShapeForStandardAndOddLengths) {
    const auto encoder = resnet("S");
    torch::NoGradGuard no_grad;
    encoder->eval();
    at::manual_seed(0);
    for (std::int64_t t : {2500, 2501, 999, 37, 1}) {
        const at::Tensor out = encoder->forward(at::randn({2, 12, t}));
        EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{2, 512})) << "T = " << t;
        EXPECT_TRUE(out.isfinite().all().item<bool>()) << "T = " << t;
    }
}

TEST(ResNet1d, ExtraSmallForwardShapeInTrainingMode) {
    const auto encoder = resnet("XS", 3, 500);
    encoder->train();
    at::manual_seed(0);
    const at::Tensor out = encoder->forward(at::randn({4, 3, 500}));
    EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{4, 128}));
    out.sum().backward();
    for (const auto& p : encoder->parameters()) {
        ASSERT_TRUE(p.grad().defined());
        EXPECT_TRUE(p.grad().isfinite().all().item<bool>());
    }
}

TEST(ResNet1d, RejectsWrongLeadCountAndUnknownSize) {
    const auto encoder = resnet("XS", 12, 100);
    EXPECT_THROW(encoder->forward(at::randn({2, 8, 100})), std::invalid_argument);
    EXPECT_THROW(encoder->forward(at::randn({12, 100})), std::invalid_argument);
    EXPECT_THROW(params_for("resnet1d", PluginKind::Encoder, {{"size", std::string("XL")}}), std::invalid_argument);
}

// Tasks fine-tune a copy, never the original. The host copies any encoder generically: a fresh
// instance from the plugin, then copy_module_state(): weights, BatchNorm statistics and mode.
TEST(ResNet1d, HostCopyIsAnIndependentDeepCopy) {
    const auto encoder = resnet("XS", 3, 200);
    {
        torch::NoGradGuard no_grad;
        encoder->train();
        encoder->forward(at::randn({4, 3, 200}) * 3.0 + 1.0);  // moves the running statistics
    }
    encoder->eval();
    const auto copy = resnet("XS", 3, 200);
    ecgbench::copy_module_state(*encoder, *copy);
    EXPECT_FALSE(copy->is_training());

    torch::NoGradGuard no_grad;
    const at::Tensor x = at::randn({2, 3, 200});
    EXPECT_TRUE(at::equal(copy->forward(x), encoder->forward(x)));
    const at::Tensor before = encoder->forward(x);
    for (auto& p : copy->parameters()) p.add_(1.0);
    EXPECT_TRUE(at::equal(encoder->forward(x), before));
    EXPECT_FALSE(at::equal(copy->forward(x), before));
    // Another architecture is refused by name, not copied half-way.
    EXPECT_THROW(ecgbench::copy_module_state(*encoder, *resnet("S", 3, 200)), std::invalid_argument);
}

// A fixed tiny batch whose records differ in shape (rhythm and morphology), so instances are
// distinguishable and a few optimiser steps must reduce each loss.
ecgbench::Batch tiny_batch(std::int64_t b, std::int64_t leads, std::int64_t t, std::int64_t classes) {
    at::manual_seed(123);
    ecgbench::Batch batch;
    const at::Tensor time = at::arange(t, at::kFloat).div(t).view({1, 1, t});
    const at::Tensor freq = at::arange(1, b + 1, at::kFloat).view({b, 1, 1}) * 1.5;
    const at::Tensor lead_gain = at::randn({b, leads, 1});
    batch.signals = (time * freq * 2 * std::numbers::pi).sin() * lead_gain + 0.1 * at::randn({b, leads, t});
    batch.lead_present = at::ones({b, leads}, at::kBool);
    batch.labels = (at::rand({b, classes}) < 0.5).to(at::kFloat);
    batch.subjects = at::arange(b, at::kLong);
    return batch;
}

// Runs `steps` AdamW steps of `method` on one batch; returns the loss of each step.
std::vector<double> train_steps(ecgbench::SslMethod& method, ecgbench::Encoder& encoder, const ecgbench::Batch& batch,
                                int steps) {
    std::vector<at::Tensor> params = encoder.parameters();
    for (const auto& p : method.parameters()) params.push_back(p);
    torch::optim::AdamW optimiser(params, torch::optim::AdamWOptions(1e-3).weight_decay(1e-4));
    encoder.train();
    method.train(true);
    std::vector<double> losses;
    for (int i = 0; i < steps; ++i) {
        optimiser.zero_grad();
        const at::Tensor loss = method.loss(encoder, batch).total;
        loss.backward();
        optimiser.step();
        losses.push_back(loss.item<double>());
    }
    return losses;
}

double mean(const std::vector<double>& v, std::size_t from, std::size_t to) {
    double s = 0;
    for (std::size_t i = from; i < to; ++i) s += v[i];
    return s / static_cast<double>(to - from);
}

ecgbench::PretrainContext context(const ecgbench::Encoder& encoder, const ecgbench::EncoderInput& in,
                                  std::vector<std::string> classes = {}) {
    ecgbench::PretrainContext ctx;
    ctx.input = in;
    ctx.embedding_dim = encoder.embedding_dim();
    ctx.classes = std::move(classes);
    return ctx;
}

TEST(SimClr, LossIsFiniteAndDecreasesOnAFixedBatch) {
    const auto in = input(12, 256);
    at::manual_seed(0);
    const auto encoder = resnet("XS", in.leads, in.samples);
    auto method = registry().make_ssl("simclr", params_for("simclr", PluginKind::Ssl));
    EXPECT_TRUE(method->trains());
    EXPECT_FALSE(method->uses_labels());
    method->setup(*encoder, context(*encoder, in));
    // Projection head 128→128→128: 2 · (128·128 + 128) parameters.
    std::int64_t head = 0;
    for (const auto& p : method->parameters()) head += p.numel();
    EXPECT_EQ(head, 2 * (128 * 128 + 128));

    const auto batch = tiny_batch(8, in.leads, in.samples, 0);
    at::manual_seed(1);
    const auto losses = train_steps(*method, *encoder, batch, 20);
    for (double l : losses) ASSERT_TRUE(std::isfinite(l));
    // NT-Xent is bounded by log(2B − 1) ≈ 2.71 for chance-level projections; the views are
    // random, so compare the mean of the first and last five steps rather than single steps.
    EXPECT_LT(mean(losses, 15, 20), mean(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
}

TEST(SimClr, ProjectionDimensionAndTemperatureAreParameters) {
    const auto in = input(2, 64);
    const auto encoder = resnet("XS", in.leads, in.samples);
    auto method = registry().make_ssl(
        "simclr", params_for("simclr", PluginKind::Ssl, {{"proj_dim", std::int64_t{16}}, {"temperature", 0.5}}));
    method->setup(*encoder, context(*encoder, in));
    const auto params = method->parameters();
    ASSERT_EQ(params.size(), 4u);  // two Linear layers, weight and bias each
    EXPECT_EQ(params[2].sizes(), (std::vector<std::int64_t>{16, 128}));
    EXPECT_THROW(params_for("simclr", PluginKind::Ssl, {{"temperature", 0.0}}), std::invalid_argument);
}

TEST(Supervised, LossDecreasesAndNeedsClasses) {
    const auto in = input(12, 256);
    at::manual_seed(0);
    const auto encoder = resnet("XS", in.leads, in.samples);
    auto method = registry().make_ssl("supervised", params_for("supervised", PluginKind::Ssl));
    EXPECT_TRUE(method->uses_labels());
    EXPECT_THROW(method->setup(*encoder, context(*encoder, in)), std::invalid_argument);

    method->setup(*encoder, context(*encoder, in, {"AF", "MI", "STTC"}));
    const auto batch = tiny_batch(8, in.leads, in.samples, 3);
    const auto losses = train_steps(*method, *encoder, batch, 20);
    for (double l : losses) ASSERT_TRUE(std::isfinite(l));
    EXPECT_LT(losses.back(), losses.front());
    EXPECT_LT(mean(losses, 15, 20), mean(losses, 0, 5));
}

TEST(RandomInit, DoesNotTrain) {
    const auto in = input(12, 100);
    const auto encoder = resnet("XS", in.leads, in.samples);
    auto method = registry().make_ssl("random_init", params_for("random_init", PluginKind::Ssl));
    EXPECT_FALSE(method->trains());
    EXPECT_FALSE(method->uses_labels());
    method->setup(*encoder, context(*encoder, in));
    EXPECT_TRUE(method->parameters().empty());
    EXPECT_THROW(method->loss(*encoder, tiny_batch(2, 12, 100, 0)), std::logic_error);
}

}  // namespace
