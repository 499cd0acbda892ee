// mtfp: its spectral target, prototype assignments and soft cross-entropy against hand-computed
// values; the online k-means step of its prototypes against a hand-computed momentum step and its
// data initialisation; on vit1d XS its loss decreases, its prototypes move and stay unit length, and
// they round-trip through a checkpoint.
#include "common/prototypes.hpp"
#include "common/spectrum.hpp"
#include "runner/checkpoint.hpp"
#include "unit/plugins/ssl_method_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <unistd.h>

namespace {

using namespace test_support;
using ecgbench::masked::log_magnitude_spectrum;
using ecgbench::masked::prototype_assignments;
using ecgbench::masked::soft_cross_entropy;
using ecgbench::masked::update_prototypes;

constexpr std::int64_t kLeads = 3, kSamples = 100;  // patch 20: 3 leads × 5 patches = 15 tokens

at::Tensor rows(std::initializer_list<float> values, std::int64_t width) {
    return at::tensor(std::vector<float>(values)).view({-1, width});
}

TEST(MtfpTargets, LogMagnitudeSpectrumOfAPatch) {
    // rFFT of [1, 2, 3, 4] = [10, −2 + 2i, −2]; orthonormal: / √4 → |X| = [5, √2, 1].
    const at::Tensor s = log_magnitude_spectrum(rows({1, 2, 3, 4}, 4));
    ASSERT_EQ(s.sizes(), at::IntArrayRef({1, 3}));
    EXPECT_NEAR(s[0][0].item<double>(), std::log(6.0), 1e-5);
    EXPECT_NEAR(s[0][1].item<double>(), std::log1p(std::sqrt(2.0)), 1e-5);
    EXPECT_NEAR(s[0][2].item<double>(), std::log(2.0), 1e-5);
    // Odd length 5: ⌊5/2⌋ + 1 = 3 bins; a constant patch has only a DC bin (5 / √5 = √5).
    const at::Tensor c = log_magnitude_spectrum(at::ones({2, 4, 5}));
    ASSERT_EQ(c.sizes(), at::IntArrayRef({2, 4, 3}));
    EXPECT_NEAR(c[1][3][0].item<double>(), std::log1p(std::sqrt(5.0)), 1e-5);
    EXPECT_NEAR(c[1][3][1].item<double>(), 0.0, 1e-5);
    EXPECT_THROW(log_magnitude_spectrum(at::ones({3, 1})), std::invalid_argument);
}

TEST(MtfpTargets, SoftAssignmentsAndTheirCrossEntropy) {
    // Cosines of [1, 0] and [0, 3] to prototypes [2, 0], [0, 1], [−1, 0]: [1, 0, −1] and [0, 1, 0].
    const at::Tensor q = prototype_assignments(rows({1, 0, 0, 3}, 2), rows({2, 0, 0, 1, -1, 0}, 2), 0.5);
    const double e2 = std::exp(2.0), em2 = std::exp(-2.0);
    EXPECT_NEAR(q[0][0].item<double>(), e2 / (e2 + 1 + em2), 1e-6);
    EXPECT_NEAR(q[0][2].item<double>(), em2 / (e2 + 1 + em2), 1e-6);
    EXPECT_NEAR(q[1][1].item<double>(), e2 / (e2 + 2), 1e-6);
    EXPECT_NEAR(q[1][0].item<double>(), 1 / (e2 + 2), 1e-6);
    // logits [0, ln 3] → p = [1/4, 3/4]; targets [1/2, 1/2] → −(½ ln ¼ + ½ ln ¾); a one-hot row [0, 1] → −ln ¾.
    const at::Tensor logits = rows({0, static_cast<float>(std::log(3.0)), 0, static_cast<float>(std::log(3.0))}, 2)
                                  .set_requires_grad(true);
    const at::Tensor targets = rows({0.5, 0.5, 0, 1}, 2).set_requires_grad(true);
    const at::Tensor ce = soft_cross_entropy(logits, targets);
    EXPECT_NEAR(ce.item<double>(), (-(0.5 * std::log(0.25) + 0.5 * std::log(0.75)) - std::log(0.75)) / 2, 1e-6);
    ce.backward();
    EXPECT_TRUE(logits.grad().defined());
    EXPECT_FALSE(targets.grad().defined()) << "the targets are a stop-gradient";
    EXPECT_EQ(soft_cross_entropy(at::zeros({0, 3}), at::zeros({0, 3})).item<double>(), 0.0);
    EXPECT_THROW(soft_cross_entropy(at::zeros({2, 3}), at::zeros({2, 2})), std::invalid_argument);
}

TEST(MtfpPrototypes, OnlineKMeansStepMovesWinnersByTheMomentum) {
    const at::Tensor c = rows({1, 0, 0, 1, -1, 0}, 2);
    const at::Tensor idle = at::tensor(std::vector<std::int64_t>{3, 0, 0});
    // [3, 4] → [.6, .8] is nearest [0, 1]; [1, 0] nearest [1, 0]; [0, 2] → [0, 1]; nothing goes to [−1, 0].
    update_prototypes(c, idle, rows({3, 4, 1, 0, 0, 2}, 2), 0.9, 5);
    // c0 = normalise(.9 [1, 0] + .1 [1, 0]) = [1, 0]; c1 = normalise(.9 [0, 1] + .1 [.3, .9]) = [.03, .99] / ‖·‖.
    const double n = std::sqrt(0.03 * 0.03 + 0.99 * 0.99);
    EXPECT_TRUE(at::allclose(c, rows({1, 0, static_cast<float>(0.03 / n), static_cast<float>(0.99 / n), -1, 0}, 2),
                             1e-5, 1e-6))
        << c;
    EXPECT_TRUE(at::equal(idle, at::tensor(std::vector<std::int64_t>{0, 0, 1})));
}

TEST(MtfpPrototypes, DeadPrototypesRestartAtTheBatchsEmbeddings) {
    // Every prototype dead (idle = reinit_after): each restarts at a distinct (normalised) embedding,
    // which then is the only one assigned to it, so the prototypes are a permutation of the embeddings.
    at::manual_seed(0);
    const at::Tensor c = rows({0.6f, 0.8f, 0, 0.8f, -0.6f, 0, 0, 0, 1}, 3);
    const at::Tensor idle = at::full({3}, 2, at::kLong);
    update_prototypes(c, idle, rows({2, 0, 0, 0, 3, 0, 0, 0, 0.5}, 3), 0.5, 2);
    EXPECT_TRUE(at::allclose(std::get<0>(c.abs().argmax(1).sort()).to(at::kFloat), at::arange(3, at::kFloat)));
    EXPECT_TRUE(at::allclose(c.abs().sum(1), at::ones({3}))) << c;
    EXPECT_TRUE(at::equal(idle, at::zeros({3}, at::kLong)));
    EXPECT_THROW(update_prototypes(c, idle, at::zeros({0, 3}), 0.5, 2), std::invalid_argument);
    EXPECT_THROW(update_prototypes(c, idle, rows({1, 0, 0}, 3), 0.5, -1), std::invalid_argument);
}

TEST(MtfpPrototypes, WithoutRestartsOnlyUnplacedPrototypesStartAtTheBatch) {
    // reinit_after = 0: c0 (idle −1, never placed) starts at the only embedding [0, 0, 2] → [0, 0, 1],
    // which is then its nearest prototype; c1, idle for 7 steps, stays where it is (idle 8); c2 too.
    const at::Tensor c = rows({1, 0, 0, 0, 1, 0, 0.6f, 0.8f, 0}, 3);
    const at::Tensor idle = at::tensor(std::vector<std::int64_t>{-1, 7, 0});
    update_prototypes(c, idle, rows({0, 0, 2}, 3), 0.5, 0);
    EXPECT_TRUE(at::allclose(c, rows({0, 0, 1, 0, 1, 0, 0.6f, 0.8f, 0}, 3))) << c;
    EXPECT_TRUE(at::equal(idle, at::tensor(std::vector<std::int64_t>{0, 8, 1})));
}

ecgbench::EncoderPtr vit_xs() {
    const auto& spec = registry().require("vit1d", ecgbench::PluginKind::Encoder).manifest().params;
    return registry().make_encoder(
        "vit1d", ecgbench::validate_params(spec, {{"size", std::string("XS")}, {"patch_size", std::int64_t{20}}}),
        encoder_input(kLeads, kSamples));
}

const std::map<std::string, ecgbench::ParamValue> kSmall = {
    {"decoder_width", std::int64_t{32}}, {"decoder_depth", std::int64_t{1}}, {"decoder_heads", std::int64_t{2}},
    {"beat_prototypes", std::int64_t{8}}, {"rhythm_prototypes", std::int64_t{4}}, {"momentum", 0.9}};

std::map<std::string, at::Tensor> buffers_of(ecgbench::SslMethod& method) {
    std::map<std::string, at::Tensor> out;
    for (const auto& item : method.named_buffers()) out[item.key()] = item.value().clone();
    return out;
}

TEST(Mtfp, LossDecreasesAndPrototypesFollowTheEmbeddings) {
    at::manual_seed(0);
    const auto encoder = vit_xs();
    auto method = make_method("mtfp", kSmall);
    method->setup(*encoder, pretrain_context(*encoder, kLeads, kSamples));
    auto initial = buffers_of(*method);
    ASSERT_EQ(initial.at("beat_prototypes").sizes(), at::IntArrayRef({8, 64}));  // vit1d XS tokens: width 64
    ASSERT_EQ(initial.at("rhythm_prototypes").sizes(), at::IntArrayRef({4, 64}));
    EXPECT_TRUE(at::equal(initial.at("beat_idle"), at::full({8}, -1, at::kLong))) << "no prototype placed yet";

    const auto batch = fixed_batch(8, kLeads, kSamples);
    const ecgbench::Loss first = method->loss(*encoder, batch);
    for (const char* name : {"time", "frequency", "beat_prototypes", "rhythm_prototypes"})
        EXPECT_TRUE(std::isfinite(first.terms.at(name).item<double>())) << name;
    EXPECT_NEAR(first.terms.at("hidden_share").item<double>(), 3 / 5.0, 1e-6);  // ⌊5 · 0.75⌋ = 3 of 5 per lead
    method->on_step_end(*encoder, {1, 1, 1, 1e-3});
    const auto after_one = buffers_of(*method);
    EXPECT_FALSE(at::allclose(after_one.at("beat_prototypes"), initial.at("beat_prototypes")));
    EXPECT_TRUE(at::equal(after_one.at("rhythm_idle").ge(0), at::ones({4}, at::kBool))) << "all placed by the first step";

    at::manual_seed(1);
    const auto losses = train_on_batch(*method, *encoder, batch, 30);
    for (double l : losses) ASSERT_TRUE(std::isfinite(l));
    EXPECT_LT(mean_of(losses, 25, 30), 0.8 * mean_of(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
    const auto trained = buffers_of(*method);
    for (const char* name : {"beat_prototypes", "rhythm_prototypes"}) {
        EXPECT_FALSE(at::allclose(trained.at(name), after_one.at(name))) << name << " never moved";
        EXPECT_TRUE(at::allclose(trained.at(name).norm(2, 1), at::ones({trained.at(name).size(0)}), 1e-4, 1e-5)) << name;
    }
}

TEST(Mtfp, PrototypesRoundTripThroughACheckpoint) {
    at::manual_seed(0);
    const auto encoder = vit_xs();
    const auto context = pretrain_context(*encoder, kLeads, kSamples);
    auto method = make_method("mtfp", kSmall);
    method->setup(*encoder, context);
    train_on_batch(*method, *encoder, fixed_batch(8, kLeads, kSamples), 3);
    const auto path = std::filesystem::temp_directory_path() / ("ecgbench_mtfp_" + std::to_string(::getpid()) + ".pt");
    ecgbench::save_checkpoint(*encoder, method.get(), path.string());
    auto again = make_method("mtfp", kSmall);
    again->setup(*encoder, context);
    ASSERT_TRUE(ecgbench::load_method(*again, path.string()));
    std::filesystem::remove(path);
    const auto saved = buffers_of(*method), loaded = buffers_of(*again);
    ASSERT_EQ(saved.size(), 4u);
    for (const auto& [name, value] : saved) EXPECT_TRUE(at::equal(value, loaded.at(name))) << name;
    EXPECT_FALSE(at::equal(saved.at("beat_idle"), at::full({8}, -1, at::kLong))) << "the state saved is the trained one";
}

TEST(Mtfp, RefusesEncodersWithoutTokensAndBadDecoders) {
    const auto resnet = resnet_xs(kLeads, kSamples);
    auto method = make_method("mtfp", kSmall);
    try {
        method->setup(*resnet, pretrain_context(*resnet, kLeads, kSamples));
        ADD_FAILURE() << "resnet1d has no token spans";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("token_spans"), std::string::npos) << e.what();
    }
    EXPECT_THROW(make_method("mtfp", {{"decoder_width", std::int64_t{30}}, {"decoder_heads", std::int64_t{4}}}),
                 std::invalid_argument);
    EXPECT_THROW(make_method("mtfp", {{"temperature", 0.0}}), std::exception);
}

}  // namespace
