// The vit1d plugin (ST-MEM's ViT): parameter counts per size, the lead-major token layout and its
// spans, absent leads and hidden tokens left out of attention (not zero-filled), padding that does
// not change a record's encoding, and clear errors.
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {

using test_support::registry;

ecgbench::EncoderInput named_input(std::int64_t leads, std::int64_t samples) {
    static const std::vector<std::string> names = {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};
    ecgbench::EncoderInput in;
    in.leads = leads;
    in.samples = samples;
    in.sampling_rate_hz = 250;
    in.lead_names.assign(names.begin(), names.begin() + leads);
    return in;
}

ecgbench::EncoderPtr vit(const std::map<std::string, ecgbench::ParamValue>& given, std::int64_t leads = 12, std::int64_t samples = 2250) {
    const auto& spec = registry().require("vit1d", ecgbench::PluginKind::Encoder).manifest().params;
    return registry().make_encoder("vit1d", ecgbench::validate_params(spec, given), named_input(leads, samples));
}

std::int64_t parameter_count(torch::nn::Module& module) {
    std::int64_t n = 0;
    for (const auto& p : module.parameters()) n += p.numel();
    return n;
}

// vit1d.cpp's formula: per block 4w² + 2wm + 9w + m; patch embedding 2·patch + (patch + 1)·w + 2w;
// positions (P + 2)·w; [SEP] w; lead embeddings leads·w; final LayerNorm 2w.
std::int64_t expected_count(std::int64_t w, std::int64_t depth, std::int64_t m, std::int64_t leads, std::int64_t patch, std::int64_t p) {
    return depth * (4 * w * w + 2 * w * m + 9 * w + m) + 2 * patch + (patch + 1) * w + 2 * w + (p + 2) * w + w + leads * w + 2 * w;
}

TEST(Vit1d, ParameterCountsPerSize) {
    // 12 leads × 2250 samples, patch 75 (ST-MEM's 9 s at 250 Hz): 30 patches per lead.
    EXPECT_EQ(parameter_count(*vit({{"size", std::string("XS")}})), 208'086);
    EXPECT_EQ(expected_count(64, 4, 256, 12, 75, 30), 208'086);
    EXPECT_EQ(parameter_count(*vit({{"size", std::string("S")}})), 21'341'718);
    EXPECT_EQ(expected_count(384, 12, 1536, 12, 75, 30), 21'341'718);
    // M and L (340 MB and 1.2 GB of weights) are not built here: the formula, checked above on XS and
    // S, gives the counts the manifest states.
    EXPECT_EQ(expected_count(768, 12, 3072, 12, 75, 30), 85'150'614);
    EXPECT_EQ(expected_count(1024, 24, 4096, 12, 75, 30), 302'437'526);
    EXPECT_EQ(vit({{"size", std::string("S")}})->embedding_dim(), 384);
    // Reading two leads drops ten lead embeddings.
    EXPECT_EQ(parameter_count(*vit({{"size", std::string("XS")}, {"leads", std::vector<std::string>{"II", "V1"}}})), 208'086 - 10 * 64);
}

TEST(Vit1d, TokensAreLeadMajorPatchesWithSpans) {
    const auto encoder =
        vit({{"size", std::string("XS")}, {"patch_size", std::int64_t{25}}, {"leads", std::vector<std::string>{"III", "I"}}}, 3, 110);
    EXPECT_EQ(encoder->token_count(), 8);  // 2 leads × ⌊110 / 25⌋ patches; the last 10 samples are not read
    const auto spans = encoder->token_spans();
    ASSERT_EQ(spans.size(), 8u);
    EXPECT_EQ(spans[0].lead, 2);  // III is input column 2
    EXPECT_EQ(spans[0].start, 0);
    EXPECT_EQ(spans[3].lead, 2);
    EXPECT_EQ(spans[3].start, 75);
    EXPECT_EQ(spans[4].lead, 0);
    EXPECT_EQ(spans[7].start, 75);
    EXPECT_EQ(spans[7].length, 25);
    encoder->eval();
    torch::NoGradGuard no_grad;
    at::manual_seed(0);
    const auto out = encoder->encode({at::randn({2, 3, 110}), {}, {}});
    ASSERT_EQ(out.tokens.sizes(), (std::vector<std::int64_t>{2, 8, 64}));
    EXPECT_TRUE(at::allclose(out.tokens.mean(1), out.pooled, 1e-5, 1e-6));
    // Lead II is not read: changing it changes nothing.
    const at::Tensor x = at::randn({1, 3, 110});
    const at::Tensor y = x.clone();
    y[0][1] = at::randn({110});
    EXPECT_TRUE(at::allclose(encoder->forward(x), encoder->forward(y)));
}

TEST(Vit1d, AbsentLeadsHaveNoTokensAndAreNotZeroFilled) {
    const auto encoder = vit({{"size", std::string("XS")}, {"patch_size", std::int64_t{20}}}, 3, 100);
    encoder->eval();
    torch::NoGradGuard no_grad;
    at::manual_seed(1);
    const at::Tensor x = at::randn({1, 3, 100});
    const at::Tensor present = at::tensor({1, 0, 1}).ne(0).view({1, 3});
    const auto out = encoder->encode({x, present, {}});
    // The absent lead's 5 tokens are 0 and the pooled embedding is the mean of the other 10.
    EXPECT_EQ(out.tokens.narrow(1, 5, 5).abs().max().item<float>(), 0.0f);
    EXPECT_TRUE(at::allclose(out.pooled, out.tokens.sum(1) / 10, 1e-5, 1e-6));
    // Whatever the absent lead's column holds does not matter…
    const at::Tensor other = x.clone();
    other[0][1] = at::randn({100}) * 5;
    EXPECT_TRUE(at::allclose(encoder->encode({other, present, {}}).pooled, out.pooled, 1e-5, 1e-6));
    // …and absent is not the same as present but flat (a zero-filled lead would be).
    const at::Tensor flat = x.clone();
    flat[0][1].zero_();
    EXPECT_FALSE(at::allclose(encoder->encode({flat, {}, {}}).pooled, out.pooled, 1e-3, 1e-3));
}

TEST(Vit1d, HiddenTokensAreLeftOutAndPaddingChangesNothing) {
    const auto encoder = vit({{"size", std::string("XS")}, {"patch_size", std::int64_t{20}}}, 2, 80);  // 2 × 4 tokens
    encoder->eval();
    torch::NoGradGuard no_grad;
    at::manual_seed(2);
    const at::Tensor x = at::randn({2, 2, 80});
    const at::Tensor hidden = at::tensor({0, 1, 1, 0, 0, 0, 1, 0, /**/ 0, 0, 0, 0, 0, 0, 0, 0}).ne(0).view({2, 8});
    const auto out = encoder->encode({x, {}, hidden});
    // Hidden positions are 0; the pooled embedding is the mean of the 5 visible tokens.
    EXPECT_EQ(out.tokens[0].index_select(0, at::tensor({1, 2, 6}, at::kLong)).abs().max().item<float>(), 0.0f);
    EXPECT_TRUE(at::allclose(out.pooled[0], out.tokens[0].sum(0) / 5, 1e-5, 1e-6));
    // A hidden patch's samples do not reach the encoder (samples 20–59 of lead I: patches 1 and 2).
    const at::Tensor changed = x.clone();
    changed[0][0].narrow(0, 20, 40).normal_();
    EXPECT_TRUE(at::allclose(encoder->encode({changed, {}, hidden}).tokens, out.tokens, 1e-5, 1e-6));
    // Record 0 alone (no padding) encodes as in the batch, where record 1 has 8 kept tokens to its 5.
    const auto alone = encoder->encode({x.narrow(0, 0, 1), {}, hidden.narrow(0, 0, 1)});
    EXPECT_TRUE(at::allclose(alone.tokens[0], out.tokens[0], 1e-5, 1e-6));
    // A visible token sees the others: hiding a token changes the visible ones.
    EXPECT_FALSE(at::allclose(encoder->encode({x, {}, {}}).tokens[0][0], out.tokens[0][0], 1e-4, 1e-4));
}

TEST(Vit1d, GradientsReachEveryParameter) {
    const auto encoder = vit({{"size", std::string("XS")}, {"patch_size", std::int64_t{20}}}, 2, 80);
    encoder->train();
    at::manual_seed(3);
    encoder->encode({at::randn({3, 2, 80}), {}, at::rand({3, 8}) < 0.5}).pooled.pow(2).sum().backward();
    for (const auto& item : encoder->named_parameters()) {
        ASSERT_TRUE(item.value().grad().defined()) << item.key();
        EXPECT_TRUE(item.value().grad().isfinite().all().item<bool>()) << item.key();
    }
}

TEST(Vit1d, ClearErrors) {
    // Shorter than one patch, an unknown lead, a lead the input lacks.
    EXPECT_THROW(vit({{"size", std::string("XS")}}, 12, 50), std::invalid_argument);
    EXPECT_THROW(vit({{"leads", std::vector<std::string>{"X9"}}}, 3, 2250), std::invalid_argument);
    try {
        vit({{"size", std::string("XS")}, {"leads", std::vector<std::string>{"V5"}}}, 3, 2250);
        ADD_FAILURE() << "a lead the input lacks must be an error";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("V5"), std::string::npos) << e.what();
    }
    const auto encoder = vit({{"size", std::string("XS")}, {"patch_size", std::int64_t{20}}}, 2, 80);
    torch::NoGradGuard no_grad;
    // Every token of a record hidden, or every lead absent: nothing to encode.
    EXPECT_THROW(encoder->encode({at::randn({1, 2, 80}), {}, at::ones({1, 8}, at::kBool)}), std::invalid_argument);
    EXPECT_THROW(encoder->encode({at::randn({1, 2, 80}), at::zeros({1, 2}, at::kBool), {}}), std::invalid_argument);
    EXPECT_THROW(encoder->encode({at::randn({1, 3, 80}), {}, {}}), std::invalid_argument);
    EXPECT_THROW(encoder->encode({at::randn({1, 2, 80}), {}, at::zeros({1, 7}, at::kBool)}), std::invalid_argument);
}

}  // namespace
