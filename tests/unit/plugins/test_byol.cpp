// The byol plugin: its loss trains, the target network is an EMA of the online one that the
// optimiser never touches, and the head widths and τ_base are validated parameters.
#include "unit/plugins/ssl_method_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace {

using namespace test_support;

constexpr std::int64_t kLeads = 3, kSamples = 128;

// The first `count` parameters of the method whose names start with `prefix`.
std::vector<at::Tensor> parameters_under(const ecgbench::SslMethod& method, const std::string& prefix) {
    std::vector<at::Tensor> found;
    for (const auto& item : method.named_parameters())
        if (item.key().rfind(prefix, 0) == 0) found.push_back(item.value());
    return found;
}

TEST(Byol, LossIsFiniteAndDecreasesOnAFixedBatch) {
    at::manual_seed(0);
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto method = make_method("byol", {{"projector_hidden", std::int64_t{64}}, {"predictor_hidden", std::int64_t{64}},
                                       {"proj_dim", std::int64_t{32}}});
    EXPECT_TRUE(method->trains());
    EXPECT_FALSE(method->uses_labels());
    method->setup(*encoder, pretrain_context(*encoder, kLeads, kSamples));
    const auto batch = fixed_batch(8, kLeads, kSamples);
    at::manual_seed(1);
    const auto losses = train_on_batch(*method, *encoder, batch, 20);
    for (double l : losses) {
        ASSERT_TRUE(std::isfinite(l));
        ASSERT_GE(l, 0.0);
        ASSERT_LE(l, 8.0);  // two terms of 2 − 2·cos ∈ [0, 4]
    }
    EXPECT_LT(mean_of(losses, 15, 20), mean_of(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
}

TEST(Byol, TargetIsAnEmaOfTheOnlineNetworkAndIsNotOptimised) {
    at::manual_seed(0);
    const auto encoder = resnet_xs(kLeads, kSamples);
    const double tau_base = 0.9;
    auto method = make_method("byol", {{"projector_hidden", std::int64_t{16}}, {"predictor_hidden", std::int64_t{16}},
                                       {"proj_dim", std::int64_t{8}}, {"tau_base", tau_base}});
    method->setup(*encoder, pretrain_context(*encoder, kLeads, kSamples));

    const auto target = parameters_under(*method, "target_encoder.");
    const auto online = encoder->parameters();
    ASSERT_EQ(target.size(), online.size());
    ASSERT_FALSE(target.empty());
    for (std::size_t i = 0; i < target.size(); ++i) {
        EXPECT_FALSE(target[i].requires_grad());
        EXPECT_TRUE(at::equal(target[i], online[i])) << "the target starts as a copy of the online encoder";
        EXPECT_NE(target[i].data_ptr(), online[i].data_ptr()) << "a copy, not the same storage";
    }
    for (const auto& p : parameters_under(*method, "target_projector.")) EXPECT_FALSE(p.requires_grad());
    for (const auto& p : parameters_under(*method, "projector.")) EXPECT_TRUE(p.requires_grad());

    // One optimiser step over what requires gradients, as the host does: the target must not move.
    std::vector<at::Tensor> before;
    for (const auto& p : target) before.push_back(p.clone());
    std::vector<at::Tensor> trainable = encoder->parameters();
    for (const auto& p : method->parameters())
        if (p.requires_grad()) trainable.push_back(p);
    torch::optim::AdamW optimiser(trainable, torch::optim::AdamWOptions(1e-2));
    encoder->train();
    method->train(true);
    method->loss(*encoder, fixed_batch(8, kLeads, kSamples)).total.backward();
    optimiser.step();
    bool online_moved = false;
    for (std::size_t i = 0; i < target.size(); ++i) {
        EXPECT_TRUE(at::equal(target[i], before[i]));
        EXPECT_FALSE(target[i].grad().defined());
        online_moved = online_moved || !at::equal(online[i], before[i]);
    }
    ASSERT_TRUE(online_moved);

    // on_step_end at step 1 of 10: τ = 1 − (1 − τ_base)·(cos(π/10) + 1)/2, ξ ← τ·ξ + (1 − τ)·θ.
    method->on_step_end(*encoder, {1, 10, 1, 1e-2});
    const double tau = 1 - (1 - tau_base) * (std::cos(std::numbers::pi / 10) + 1) / 2;
    for (std::size_t i = 0; i < target.size(); ++i) {
        EXPECT_TRUE(at::allclose(target[i], tau * before[i] + (1 - tau) * online[i], 1e-5, 1e-6)) << i;
    }
    // At the last step τ = 1: the target stays where it is.
    std::vector<at::Tensor> at_end;
    for (const auto& p : target) at_end.push_back(p.clone());
    method->on_step_end(*encoder, {10, 10, 1, 1e-2});
    for (std::size_t i = 0; i < target.size(); ++i) EXPECT_TRUE(at::allclose(target[i], at_end[i], 0, 1e-7));
}

TEST(Byol, HeadWidthsAndTauBaseAreValidatedParameters) {
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto method = make_method("byol", {{"projector_hidden", std::int64_t{48}}, {"predictor_hidden", std::int64_t{24}},
                                       {"proj_dim", std::int64_t{16}}});
    method->setup(*encoder, pretrain_context(*encoder, kLeads, kSamples));
    const auto named = method->named_parameters();
    // Linear – BatchNorm – ReLU – Linear: modules 0 (Linear), 1 (BatchNorm), 3 (Linear).
    EXPECT_EQ(named["projector.0.weight"].sizes(), (std::vector<std::int64_t>{48, encoder->embedding_dim()}));
    EXPECT_EQ(named["projector.1.weight"].sizes(), (std::vector<std::int64_t>{48}));
    EXPECT_EQ(named["projector.3.weight"].sizes(), (std::vector<std::int64_t>{16, 48}));
    EXPECT_EQ(named["predictor.0.weight"].sizes(), (std::vector<std::int64_t>{24, 16}));
    EXPECT_EQ(named["predictor.3.weight"].sizes(), (std::vector<std::int64_t>{16, 24}));
    EXPECT_THROW(ssl_params("byol", {{"tau_base", 1.5}}), std::invalid_argument);
    EXPECT_THROW(ssl_params("byol", {{"proj_dim", std::int64_t{0}}}), std::invalid_argument);

    // Without the host's copy_encoder there is no target network: a clear error, not a crash.
    auto context = pretrain_context(*encoder, kLeads, kSamples);
    context.copy_encoder = nullptr;
    auto again = make_method("byol");
    try {
        again->setup(*encoder, context);
        FAIL() << "setup without copy_encoder must throw";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("byol"), std::string::npos) << e.what();
    }
}

}  // namespace
