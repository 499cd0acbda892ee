// The masked-token methods on vit1d: st_mem (both variants) and jepa train on a fixed batch, hide
// the documented share of tokens (never of absent leads), refuse an encoder that does not describe
// its tokens, and jepa's target encoder is a frozen EMA of the encoder.
#include "unit/plugins/ssl_method_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace {

using namespace test_support;

constexpr std::int64_t kLeads = 3, kSamples = 100;  // patch 20: 3 leads × 5 patches = 15 tokens

ecgbench::EncoderPtr vit_xs() {
    const auto& spec = registry().require("vit1d", ecgbench::PluginKind::Encoder).manifest().params;
    return registry().make_encoder(
        "vit1d", ecgbench::validate_params(spec, {{"size", std::string("XS")}, {"patch_size", std::int64_t{20}}}),
        encoder_input(kLeads, kSamples));
}

ecgbench::PretrainContext vit_context(ecgbench::Encoder& encoder) {
    ecgbench::PretrainContext ctx = pretrain_context(encoder, kLeads, kSamples);
    ctx.token_count = encoder.token_count();
    ctx.copy_encoder = [&encoder] {
        auto copy = vit_xs();
        ecgbench::copy_module_state(encoder, *copy);
        return copy;
    };
    return ctx;
}

const std::map<std::string, ecgbench::ParamValue> kSmallDecoder = {
    {"decoder_width", std::int64_t{32}}, {"decoder_depth", std::int64_t{1}}, {"decoder_heads", std::int64_t{2}}};

std::map<std::string, ecgbench::ParamValue> with(std::map<std::string, ecgbench::ParamValue> params,
                                                 const std::map<std::string, ecgbench::ParamValue>& more) {
    params.insert(more.begin(), more.end());
    return params;
}

double term(const ecgbench::Loss& loss, const std::string& name) { return loss.terms.at(name).item<double>(); }

TEST(StMem, LossDecreasesOnAFixedBatchForBothVariants) {
    for (const std::string variant : {"st_mem", "mae"}) {
        at::manual_seed(0);
        const auto encoder = vit_xs();
        auto method = make_method("st_mem", with(kSmallDecoder, {{"variant", variant}}));
        method->setup(*encoder, vit_context(*encoder));
        at::manual_seed(1);
        const auto losses = train_on_batch(*method, *encoder, fixed_batch(8, kLeads, kSamples), 30);
        for (double l : losses) ASSERT_TRUE(std::isfinite(l)) << variant;
        EXPECT_LT(mean_of(losses, 25, 30), 0.8 * mean_of(losses, 0, 5)) << variant << ": first " << losses.front() << " last " << losses.back();
    }
}

TEST(StMem, HidesTheDocumentedShareNeverOfAbsentLeads) {
    at::manual_seed(0);
    const auto encoder = vit_xs();
    auto batch = fixed_batch(4, kLeads, kSamples);
    batch.lead_present[1][2] = false;  // record 1 has 10 tokens of present leads
    // st_mem: ⌊5 · 0.5⌋ = 2 of 5 patches in every lead: 2/5 of the present-lead tokens.
    auto st_mem = make_method("st_mem", with(kSmallDecoder, {{"mask_ratio", 0.5}}));
    st_mem->setup(*encoder, vit_context(*encoder));
    EXPECT_NEAR(term(st_mem->loss(*encoder, batch), "hidden_share"), 0.4, 1e-6);
    // mae: ⌊15 · 0.5⌋ = 7 of 15 tokens in records 0, 2, 3 and ⌊10 · 0.5⌋ = 5 of 10 in record 1, all of present leads.
    auto mae = make_method("st_mem", with(kSmallDecoder, {{"variant", std::string("mae")}, {"mask_ratio", 0.5}}));
    mae->setup(*encoder, vit_context(*encoder));
    EXPECT_NEAR(term(mae->loss(*encoder, batch), "hidden_share"), (3 * 7 + 5) / 55.0, 1e-6);
}

TEST(StMem, NeedsAnEncoderThatDescribesItsTokens) {
    const auto resnet = resnet_xs(kLeads, kSamples);
    auto method = make_method("st_mem", kSmallDecoder);
    try {
        method->setup(*resnet, pretrain_context(*resnet, kLeads, kSamples));
        ADD_FAILURE() << "resnet1d has no token spans";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("token_spans"), std::string::npos) << e.what();
    }
    const auto& manifest = registry().require("st_mem", ecgbench::PluginKind::Ssl).manifest();
    EXPECT_NE(std::find(manifest.needs.begin(), manifest.needs.end(), "token_spans"), manifest.needs.end());
    EXPECT_THROW(make_method("st_mem", {{"decoder_width", std::int64_t{30}}, {"decoder_heads", std::int64_t{4}}}), std::invalid_argument);
}

const std::map<std::string, ecgbench::ParamValue> kSmallPredictor = {
    {"predictor_width", std::int64_t{32}}, {"predictor_depth", std::int64_t{1}}, {"predictor_heads", std::int64_t{2}}};

TEST(Jepa, LossDecreasesWithAFixedTargetAndHidesTimeBlocksOrPatchesPerLead) {
    at::manual_seed(0);
    const auto encoder = vit_xs();
    // τ = 1: the target stays as initialised, so the loss is a fixed regression problem.
    auto method = make_method("jepa", with(kSmallPredictor, {{"tau_base", 1.0}}));
    method->setup(*encoder, vit_context(*encoder));
    const auto batch = fixed_batch(8, kLeads, kSamples);
    at::manual_seed(1);
    const auto losses = train_on_batch(*method, *encoder, batch, 30);
    for (double l : losses) ASSERT_TRUE(std::isfinite(l));
    EXPECT_LT(mean_of(losses, 25, 30), 0.8 * mean_of(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
    // One block of ⌊5 · 0.4⌋ = 2 positions, hidden in every lead: 2/5 of the tokens.
    auto one_block = make_method("jepa", with(kSmallPredictor, {{"blocks", std::int64_t{1}}, {"block_min", 0.4}, {"block_max", 0.4}}));
    one_block->setup(*encoder, vit_context(*encoder));
    EXPECT_NEAR(term(one_block->loss(*encoder, batch), "hidden_share"), 0.4, 1e-6);
    // Blocks covering everything still leave one position visible: 4/5.
    auto all = make_method("jepa", with(kSmallPredictor, {{"blocks", std::int64_t{2}}, {"block_min", 1.0}, {"block_max", 1.0}}));
    all->setup(*encoder, vit_context(*encoder));
    EXPECT_NEAR(term(all->loss(*encoder, batch), "hidden_share"), 0.8, 1e-6);
    // masking = per_lead: ⌊5 · 0.6⌋ = 3 of 5 patches in every lead, at random times per lead.
    auto per_lead = make_method("jepa", with(kSmallPredictor, {{"masking", std::string("per_lead")}, {"mask_ratio", 0.6}}));
    per_lead->setup(*encoder, vit_context(*encoder));
    EXPECT_NEAR(term(per_lead->loss(*encoder, batch), "hidden_share"), 0.6, 1e-6);
    EXPECT_THROW(make_method("jepa", {{"block_min", 0.5}, {"block_max", 0.2}}), std::invalid_argument);
}

TEST(Jepa, TargetIsAFrozenEmaOfTheEncoder) {
    at::manual_seed(0);
    const auto encoder = vit_xs();
    const double tau_base = 0.9;
    auto method = make_method("jepa", with(kSmallPredictor, {{"tau_base", tau_base}}));
    method->setup(*encoder, vit_context(*encoder));
    std::vector<at::Tensor> target;
    for (const auto& item : method->named_parameters())
        if (item.key().rfind("target_encoder.", 0) == 0) target.push_back(item.value());
    const auto online = encoder->parameters();
    ASSERT_EQ(target.size(), online.size());
    for (std::size_t i = 0; i < target.size(); ++i) {
        EXPECT_FALSE(target[i].requires_grad());
        EXPECT_TRUE(at::equal(target[i], online[i]));
    }
    // One step as the host takes it (train_on_batch calls on_step_end with step 1 of 1: τ = 1 at the
    // end of the run), then an explicit EMA at the start (τ = τ_base).
    train_on_batch(*method, *encoder, fixed_batch(8, kLeads, kSamples), 1);
    std::vector<at::Tensor> before;
    for (const auto& p : target) before.push_back(p.clone());
    method->on_step_end(*encoder, {0, 10, 1, 1e-3});
    for (std::size_t i = 0; i < target.size(); ++i)
        EXPECT_TRUE(at::allclose(target[i], tau_base * before[i] + (1 - tau_base) * online[i], 1e-5, 1e-6));
}

}  // namespace
