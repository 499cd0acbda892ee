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

ecgbench::EncoderPtr resnet(const std::string& size, std::int64_t leads = 12, std::int64_t samples = 2500, bool lead_mask = true) {
    return registry().make_encoder("resnet1d", params_for("resnet1d", PluginKind::Encoder, {{"size", size}, {"lead_mask", lead_mask}}),
                                   input(leads, samples));
}

ecgbench::EncoderPtr xresnet(const std::string& depth, std::int64_t leads = 12, std::int64_t samples = 1000, bool lead_mask = true) {
    return registry().make_encoder("xresnet1d", params_for("xresnet1d", PluginKind::Encoder, {{"depth", depth}, {"lead_mask", lead_mask}}),
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
             {"xresnet1d", PluginKind::Encoder},
             {"simclr", PluginKind::Ssl},
             {"tolerant", PluginKind::Ssl},
             {"cpc", PluginKind::Ssl},
             {"supervised", PluginKind::Ssl},
             {"random_init", PluginKind::Ssl}}) {
        const auto* plugin = registry().find(name);
        ASSERT_NE(plugin, nullptr) << name << " not found in " << ECGBENCH_PLUGIN_DIR << failures();
        EXPECT_EQ(plugin->manifest().kind, kind) << name;
        EXPECT_FALSE(plugin->manifest().summary.empty()) << name;
    }
}

// The S size is the ResNet-18 layout; its count is fixed by the architecture (see resnet1d.cpp:
// stem 23,168 (24 input channels: 12 leads + 12 presence flags) + stage 1 115,200 + stage 2
// 410,880 + stage 3 1,640,960 + stage 4 6,558,720).
TEST(ResNet1d, SmallHasExactParameterCount) {
    const auto encoder = resnet("S");
    EXPECT_EQ(parameter_count(*encoder), 8'748'928);
    EXPECT_EQ(encoder->embedding_dim(), 512);
    // Without the presence channels the stem reads 12 channels: 12·64·15 = 11,520 fewer weights.
    EXPECT_EQ(parameter_count(*resnet("S", 12, 2500, false)), 8'737'408);
}

TEST(ResNet1d, OtherSizesParameterCounts) {
    EXPECT_EQ(parameter_count(*resnet("XS")), 247'328);
    EXPECT_EQ(resnet("XS")->embedding_dim(), 128);
    EXPECT_EQ(parameter_count(*resnet("M")), 13'627'008);
    EXPECT_EQ(resnet("M")->embedding_dim(), 512);
    // L (3-4-6-3) = M + one more 128-wide block (2·128·128·7 + 4·128 = 229,888) + three more
    // 256-wide blocks (3 · (2·256·256·7 + 4·256) = 2,755,584).
    EXPECT_EQ(parameter_count(*resnet("L")), 13'627'008 + 229'888 + 2'755'584);
    EXPECT_EQ(resnet("L")->embedding_dim(), 512);
    // Only the stem depends on the lead count: 11 fewer leads remove 2·11·64·15 weights.
    EXPECT_EQ(parameter_count(*resnet("S", 1)), 8'748'928 - 2 * 11 * 64 * 15);
}

TEST(ResNet1d, TokensAreTheLastFeatureMapOnePer32Samples) {
    const auto encoder = resnet("XS", 3, 500);
    encoder->eval();
    torch::NoGradGuard no_grad;
    const auto out = encoder->encode({at::randn({2, 3, 500}), {}, {}});
    EXPECT_EQ(encoder->token_count(), 16);  // ceil(500 / 32)
    ASSERT_EQ(out.tokens.sizes(), (std::vector<std::int64_t>{2, 16, 128}));
    EXPECT_TRUE(at::allclose(out.tokens.mean(1), out.pooled));
    EXPECT_EQ(resnet("XS", 3, 1)->token_count(), 1);
    EXPECT_EQ(resnet("XS", 3, 33)->token_count(), 2);
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

// Counts fixed by the architecture for 12 leads + 12 presence channels (xresnet1d.cpp). The stem
// alone is 24·32·5 + 32·32·5 + 32·64·5 (convs) + 2·(32 + 32 + 64) (BN) = 3,840 + 5,120 + 10,240 + 256.
TEST(XResNet1d, ParameterCountsAndEmbeddingWidths) {
    EXPECT_EQ(parameter_count(*xresnet("50")), 18'488'064);
    EXPECT_EQ(xresnet("50")->embedding_dim(), 2048);
    EXPECT_EQ(parameter_count(*xresnet("101")), 33'023'744);
    EXPECT_EQ(xresnet("101")->embedding_dim(), 2048);
    EXPECT_EQ(parameter_count(*xresnet("18")), 6'304'000);
    EXPECT_EQ(xresnet("18")->embedding_dim(), 512);
    // Without the presence channels: 12·32·5 = 1,920 fewer stem weights.
    EXPECT_EQ(parameter_count(*xresnet("50", 12, 1000, false)), 18'488'064 - 1'920);
}

// fastai's zero-gamma trick: every block starts as its shortcut, so at initialisation a block
// without a projection is the identity followed by ReLU (its input is already non-negative).
TEST(XResNet1d, BlocksStartAsTheirShortcutAndOddLengthsWork) {
    const auto encoder = xresnet("18", 3, 250);
    std::int64_t zero_gammas = 0;
    for (const auto& item : encoder->named_parameters())
        if (item.key().find(".bn.weight") != std::string::npos && item.value().abs().sum().item<double>() == 0) ++zero_gammas;
    EXPECT_EQ(zero_gammas, 8);  // one per basic block, 2-2-2-2
    encoder->eval();
    torch::NoGradGuard no_grad;
    for (std::int64_t t : {250, 251, 37, 1}) {
        const auto e = xresnet("18", 3, t);
        e->eval();
        const auto out = e->encode({at::randn({2, 3, t}), {}, {}});
        EXPECT_EQ(out.pooled.sizes(), (std::vector<std::int64_t>{2, 512})) << "T = " << t;
        EXPECT_EQ(out.tokens.size(1), e->token_count()) << "T = " << t;
        EXPECT_TRUE(out.pooled.isfinite().all().item<bool>());
    }
    EXPECT_THROW(params_for("xresnet1d", PluginKind::Encoder, {{"depth", std::string("34")}}), std::invalid_argument);
}

// The lead mask, for both encoders: what sits in an absent lead's column does not matter, and an
// absent lead differs from a present lead that is flat (the presence channel tells them apart).
TEST(LeadMask, AbsentLeadsAreMaskedNotZeroFilled) {
    for (const auto& encoder : {resnet("XS", 12, 256), xresnet("18", 12, 256)}) {
        encoder->eval();
        torch::NoGradGuard no_grad;
        at::manual_seed(7);
        at::Tensor x = at::randn({2, 12, 256});
        at::Tensor present = at::ones({2, 12}, at::kBool);
        present[0][3] = false;
        present[0][7] = false;
        const at::Tensor reference = encoder->encode({x, present, {}}).pooled;
        at::Tensor garbage = x.clone();
        garbage[0][3] = at::randn({256}) * 100;
        garbage[0][7].fill_(5.0);
        EXPECT_TRUE(at::allclose(encoder->encode({garbage, present, {}}).pooled, reference, 1e-5, 1e-6));

        at::Tensor flat = x.clone();
        flat[0][3].zero_();
        flat[0][7].zero_();
        const at::Tensor as_flat = encoder->encode({flat, {}, {}}).pooled;
        EXPECT_GT((as_flat[0] - reference[0]).abs().max().item<double>(), 1e-4) << "absent must differ from present-but-zero";
        EXPECT_TRUE(at::allclose(as_flat[1], reference[1], 1e-5, 1e-6)) << "records are embedded independently in eval mode";
    }
    // With lead_mask = false an absent lead is still zeroed, but then looks like a flat lead.
    const auto plain = resnet("XS", 12, 256, false);
    plain->eval();
    torch::NoGradGuard no_grad;
    at::Tensor x = at::randn({1, 12, 256});
    at::Tensor present = at::ones({1, 12}, at::kBool);
    present[0][0] = false;
    const at::Tensor absent = plain->encode({x, present, {}}).pooled;
    x[0][0].zero_();
    EXPECT_TRUE(at::allclose(plain->encode({x, {}, {}}).pooled, absent, 1e-5, 1e-6));
}

// `leads` picks leads by name from the input; a lead the input lacks is named in the error.
TEST(LeadMask, LeadsParamSelectsByNameAndNamesAMissingLead) {
    ecgbench::EncoderInput in{3, 128, 100.0, {"I", "II", "V1"}};
    const auto only_i = registry().make_encoder(
        "resnet1d", params_for("resnet1d", PluginKind::Encoder, {{"size", std::string("XS")}, {"leads", std::vector<std::string>{"I"}}}), in);
    EXPECT_EQ(parameter_count(*only_i), 247'328 - 2 * 11 * 16 * 15);  // the stem reads lead I and its flag
    only_i->eval();
    torch::NoGradGuard no_grad;
    at::Tensor x = at::randn({2, 3, 128});
    const at::Tensor reference = only_i->encode({x, {}, {}}).pooled;
    x.narrow(1, 1, 2).normal_();  // the other leads do not matter
    EXPECT_TRUE(at::allclose(only_i->encode({x, {}, {}}).pooled, reference));
    try {
        registry().make_encoder("xresnet1d",
                                params_for("xresnet1d", PluginKind::Encoder, {{"depth", std::string("18")}, {"leads", std::vector<std::string>{"I", "V5"}}}),
                                in);
        FAIL() << "expected an error naming V5";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("xresnet1d"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("V5"), std::string::npos) << e.what();
    }
}

// A hidden token's 32 input samples are zeroed: masking tokens equals zeroing their spans.
TEST(LeadMask, TokenMaskZeroesEachHiddenTokensSpan) {
    const auto encoder = resnet("XS", 2, 100);  // 4 tokens; the last covers samples 96-99
    encoder->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor x = at::randn({1, 2, 100});
    const at::Tensor mask = at::tensor({0, 1, 0, 1}).ne(0).view({1, 4});
    at::Tensor zeroed = x.clone();
    zeroed.narrow(2, 32, 32).zero_();
    zeroed.narrow(2, 96, 4).zero_();
    EXPECT_TRUE(at::allclose(encoder->encode({x, {}, mask}).pooled, encoder->encode({zeroed, {}, {}}).pooled));
    EXPECT_THROW(encoder->encode({x, {}, at::zeros({1, 3}, at::kBool)}), std::invalid_argument);
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

TEST(Tolerant, LossIsContrastivePlusWeightedReconstructionAndDecreases) {
    const auto in = input(12, 256);
    at::manual_seed(0);
    const auto encoder = resnet("XS", in.leads, in.samples);
    auto method = registry().make_ssl("tolerant", params_for("tolerant", PluginKind::Ssl, {{"reconstruction_weight", 0.5}}));
    EXPECT_TRUE(method->trains());
    EXPECT_FALSE(method->uses_labels());
    const auto& manifest = registry().require("tolerant", PluginKind::Ssl).manifest();
    EXPECT_EQ(manifest.needs, std::vector<std::string>{"tokens"});
    method->setup(*encoder, context(*encoder, in));
    auto batch = tiny_batch(8, in.leads, in.samples, 0);
    batch.lead_present[2][5] = false;  // a record that already misses a lead
    batch.signals[2][5].zero_();
    at::manual_seed(1);
    const auto loss = method->loss(*encoder, batch);
    ASSERT_EQ(loss.terms.count("contrastive"), 1u);
    ASSERT_EQ(loss.terms.count("reconstruction"), 1u);
    EXPECT_NEAR(loss.total.item<double>(), loss.terms.at("contrastive").item<double>() + 0.5 * loss.terms.at("reconstruction").item<double>(), 1e-5);

    at::manual_seed(2);
    const auto losses = train_steps(*method, *encoder, batch, 20);
    for (double l : losses) ASSERT_TRUE(std::isfinite(l));
    EXPECT_LT(mean(losses, 15, 20), mean(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
    EXPECT_THROW(params_for("tolerant", PluginKind::Ssl, {{"max_lead_drop", 1.5}}), std::invalid_argument);
    EXPECT_THROW(registry().make_ssl("tolerant", params_for("tolerant", PluginKind::Ssl, {{"snr_min_db", 30.0}, {"snr_max_db", 10.0}})),
                 std::invalid_argument);
}

TEST(Cpc, LossIsFiniteAndDecreasesOnAFixedBatch) {
    const auto in = input(12, 512);  // 16 tokens of 128 dimensions
    for (const std::string context_net : {"lstm", "gru"}) {
        SCOPED_TRACE(context_net);
        at::manual_seed(0);
        const auto encoder = resnet("XS", in.leads, in.samples);
        auto method = registry().make_ssl(
            "cpc", params_for("cpc", PluginKind::Ssl, {{"context", context_net}, {"context_dim", std::int64_t{64}}, {"steps", std::int64_t{3}}}));
        method->setup(*encoder, context(*encoder, in));
        // Context network + 3 predictors W_k: 64 → 128 each, no bias.
        std::int64_t predictors = 0;
        for (const auto& item : method->named_parameters())
            if (item.key().rfind("predictor", 0) == 0) predictors += item.value().numel();
        EXPECT_EQ(predictors, 3 * 64 * 128);
        const auto batch = tiny_batch(8, in.leads, in.samples, 0);
        const auto first = method->loss(*encoder, batch);
        // Chance level: each of the 8 · (16 − k) rows picks its target among as many candidates.
        EXPECT_NEAR(first.terms.at("infonce_k1").item<double>(), std::log(8.0 * 15), 1.5);
        const auto losses = train_steps(*method, *encoder, batch, 20);
        for (double l : losses) ASSERT_TRUE(std::isfinite(l));
        EXPECT_LT(mean(losses, 15, 20), mean(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
    }
}

// Encoder without tokens: the manifest says so to `plan`; setup says so to a direct caller.
class PooledOnly final : public ecgbench::Encoder {
public:
    PooledOnly() : w_(register_parameter("w", at::randn({12, 4}))) {}
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override { return {b.signals.mean(-1).mm(w_), {}}; }
    std::int64_t embedding_dim() const override { return 4; }

private:
    at::Tensor w_;
};

TEST(Cpc, NeedsTokensAndStepsBelowTheTokenCount) {
    EXPECT_EQ(registry().require("cpc", PluginKind::Ssl).manifest().needs, std::vector<std::string>{"tokens"});
    const auto in = input(12, 128);
    PooledOnly pooled;
    auto method = registry().make_ssl("cpc", params_for("cpc", PluginKind::Ssl));
    EXPECT_THROW(method->setup(pooled, context(pooled, in)), std::invalid_argument);
    const auto encoder = resnet("XS", in.leads, in.samples);  // 4 tokens
    auto far = registry().make_ssl("cpc", params_for("cpc", PluginKind::Ssl, {{"steps", std::int64_t{4}}}));
    EXPECT_THROW(far->setup(*encoder, context(*encoder, in)), std::invalid_argument);
}

}  // namespace
