// The `lead_reconstruction` task: per-lead Pearson r and RMSE against hand-computed values, the
// U-Net's output shape for odd lengths, and the task recovering a lead that is a linear
// combination of its inputs (Einthoven: III = II − I) and one that is not (a product).
#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/task.hpp"
#include "lead_reconstruction/unet.hpp"
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

using ecgbench::lead_reconstruction::score_reconstruction;
using ecgbench::lead_reconstruction::UNet;
using ecgbench::lead_reconstruction::UNetOptions;

// 3 records × 2 leads × 4 samples; record 2's lead 1 is absent.
//   r0 l0: target 1 2 3 4, prediction 2 4 6 8        -> r 1,    RMSE √(30/4)
//   r0 l1: target 1 2 3 4, prediction 4 3 2 1        -> r −1,   RMSE √(20/4)
//   r1 l0: target 1 2 3 4, prediction 1 3 2 4        -> r 4/5,  RMSE √(2/4)   (deviations ±1.5, ±0.5: cov 4, var 5)
//   r1 l1: target 0 2 0 2, prediction 1 1 1 1        -> r undefined (constant), RMSE 1
//   r2 l0: target 0 1 0 1, prediction 0.5 1.5 0.5 1.5 -> r 1,   RMSE 0.5
TEST(LeadReconstruction, PerLeadPearsonAndRmseMatchHandComputedValues) {
    const at::Tensor target =
        at::tensor(std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 0, 2, 0, 2, 0, 1, 0, 1, 9, 9, 9, 9}).view({3, 2, 4});
    const at::Tensor predicted =
        at::tensor(std::vector<float>{2, 4, 6, 8, 4, 3, 2, 1, 1, 3, 2, 4, 1, 1, 1, 1, 0.5, 1.5, 0.5, 1.5, 0, 0, 0, 0}).view({3, 2, 4});
    const at::Tensor present = at::tensor(std::vector<std::int64_t>{1, 1, 1, 1, 1, 0}).view({3, 2}).ne(0);
    const auto s = score_reconstruction(predicted, target, present);
    EXPECT_NEAR(s.record_r[0][0], 1.0, 1e-12);
    EXPECT_NEAR(s.record_r[0][1], -1.0, 1e-12);
    EXPECT_NEAR(s.record_r[1][0], 0.8, 1e-12);
    EXPECT_TRUE(std::isnan(s.record_r[1][1]));
    EXPECT_TRUE(std::isnan(s.record_r[2][1]));
    EXPECT_TRUE(std::isnan(s.record_rmse[2][1]));
    EXPECT_NEAR(s.record_rmse[0][0], std::sqrt(7.5), 1e-12);
    EXPECT_NEAR(s.record_rmse[1][1], 1.0, 1e-12);
    EXPECT_NEAR(s.mean_r[0], (1 + 0.8 + 1) / 3, 1e-12);
    EXPECT_NEAR(s.mean_r[1], -1.0, 1e-12);  // the constant prediction is left out of r, not scored 0
    EXPECT_EQ(s.records, (std::vector<std::int64_t>{3, 1}));
    EXPECT_NEAR(s.mean_rmse[0], (std::sqrt(7.5) + std::sqrt(0.5) + 0.5) / 3, 1e-12);
    EXPECT_NEAR(s.mean_rmse[1], (std::sqrt(5.0) + 1) / 2, 1e-12);  // the absent lead is left out of RMSE too
}

TEST(LeadReconstruction, UNetKeepsAnyLengthIncludingOddOnes) {
    UNet net(UNetOptions{2, 10, 4, 3, 5, 0});
    net->eval();
    for (std::int64_t samples : {8, 9, 97, 251, 1001}) {
        const at::Tensor out = net->forward(at::randn({2, 2, samples}));
        EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{2, 10, samples})) << samples;
    }
    EXPECT_THROW(net->forward(at::randn({2, 2, 7})), std::invalid_argument);  // 3 levels need 8 samples
    EXPECT_THROW(net->forward(at::randn({2, 3, 64})), std::invalid_argument);  // wrong lead count
    UNet conditioned(UNetOptions{1, 11, 4, 2, 9, 6});
    conditioned->eval();
    EXPECT_EQ(conditioned->forward(at::randn({3, 1, 125}), at::randn({3, 6})).sizes(), (std::vector<std::int64_t>{3, 11, 125}));
    EXPECT_THROW(conditioned->forward(at::randn({3, 1, 125})), std::invalid_argument);
    EXPECT_THROW(UNet(UNetOptions{1, 1, 4, 2, 8, 0}), std::invalid_argument);  // even kernel
}

// Leads I, II of smooth random traces, III = II − I (+ a little noise) and V1 = 3·I·II: from I and
// II the task must recover III (linear: the least-squares start has it) and V1 (uncorrelated with
// either input, so only the trained U-Net can), and report them under the leads' names.
ecgbench::EcgSplit toy_split(std::int64_t n, std::uint64_t seed) {
    at::manual_seed(seed);
    const at::Tensor smooth = at::avg_pool1d(at::randn({n, 2, 80}), {9}, {1}, {4});  // [n, 2, 80], SD ≈ 1/3
    const at::Tensor lead_i = smooth.select(1, 0), lead_ii = smooth.select(1, 1);
    ecgbench::EcgSplit s;
    s.signals = at::stack({lead_i, lead_ii, lead_ii - lead_i + 0.01 * at::randn({n, 80}), 3 * lead_i * lead_ii}, 1);
    s.lead_present = at::ones({n, 4}, at::kBool);
    s.labels = at::zeros({n, 0});
    s.subjects = at::arange(n, at::kLong);
    for (std::int64_t i = 0; i < n; ++i) s.record_ids.push_back("r" + std::to_string(i));
    return s;
}

/// Pools each lead's mean, and records the most any lead outside I and II carried or was marked
/// present in what it was shown (frozen features must see the input leads only).
class SpyEncoder final : public ecgbench::Encoder {
public:
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override {
        const at::Tensor others = b.signals.slice(1, 2);
        leaked = std::max(leaked, others.abs().max().item<double>());
        if (b.lead_present.defined()) marked_present |= b.lead_present.slice(1, 2).any().item<bool>();
        ++calls;
        return {b.signals.mean(-1), {}};
    }
    std::int64_t embedding_dim() const override { return 4; }
    double leaked = 0;
    bool marked_present = false;
    int calls = 0;
};

TEST(LeadReconstruction, TaskRecoversLinearAndNonLinearLeads) {
    const auto& plugin = test_support::registry().require("lead_reconstruction", ecgbench::PluginKind::Task);
    using ecgbench::ParamValue;
    const std::map<std::string, ParamValue> params{{"inputs", std::vector<std::string>{"I", "ii"}},
                                                  {"width", std::int64_t{8}},
                                                  {"depth", std::int64_t{2}},
                                                  {"epochs", std::int64_t{40}},
                                                  {"learning_rate", 3e-3}};
    auto task = test_support::registry().make_task("lead_reconstruction", ecgbench::validate_params(plugin.manifest().params, params));
    ecgbench::DatasetInfo info;
    info.name = "toy";
    info.leads = {"I", "II", "III", "V1"};
    const auto train = toy_split(256, 1), val = toy_split(64, 2), test = toy_split(64, 3);
    SpyEncoder encoder;
    const ecgbench::EncoderPtr borrowed(std::shared_ptr<ecgbench::Encoder>{}, &encoder);
    const ecgbench::TaskResult result = task->evaluate({borrowed, {}, {}, torch::kCPU, info, train, val, test, 7, {}});
    EXPECT_EQ(encoder.calls, 0);  // standalone by default
    std::map<std::string, const ecgbench::Metric*> metrics;
    for (const auto& m : result.metrics) metrics[m.name] = &m;
    ASSERT_TRUE(metrics.count("pearson_r/III"));
    EXPECT_FALSE(metrics.count("pearson_r/I"));  // inputs are not scored
    ASSERT_TRUE(metrics.count("pearson_r/V1"));
    std::cout << "toy reconstruction: r(III) " << metrics["pearson_r/III"]->value << ", r(V1) " << metrics["pearson_r/V1"]->value << "\n";
    EXPECT_GT(metrics["pearson_r/III"]->value, 0.99);
    EXPECT_GT(metrics["pearson_r/V1"]->value, 0.6);
    EXPECT_DOUBLE_EQ(metrics["mean_pearson_r"]->value, (metrics["pearson_r/III"]->value + metrics["pearson_r/V1"]->value) / 2);
    EXPECT_EQ(metrics["rmse_mv/III"]->direction, ecgbench::Direction::LowerIsBetter);
    EXPECT_EQ(metrics["mean_rmse_mv"]->direction, ecgbench::Direction::LowerIsBetter);
    EXPECT_EQ(metrics["mean_pearson_r"]->direction, ecgbench::Direction::HigherIsBetter);
    EXPECT_EQ(metrics["n_records"]->value, 64);
    ASSERT_EQ(result.outputs.size(), 2u);
    EXPECT_EQ(result.outputs[0].kind, "pearson_r");
    EXPECT_EQ(result.outputs[0].columns, (std::vector<std::string>{"III", "V1"}));
    EXPECT_EQ(result.outputs[0].values.sizes(), (std::vector<std::int64_t>{64, 2}));
    EXPECT_NEAR(result.outputs[0].values.select(1, 0).mean().item<double>(), metrics["pearson_r/III"]->value, 1e-5);

    // Frozen encoder features: the encoder is called, and sees I and II only (the others zero and absent).
    auto frozen_params = params;
    frozen_params["encoder_features"] = std::string("frozen");
    frozen_params["epochs"] = std::int64_t{2};
    auto frozen = test_support::registry().make_task("lead_reconstruction", ecgbench::validate_params(plugin.manifest().params, frozen_params));
    const ecgbench::TaskResult with_features = frozen->evaluate({borrowed, {}, {}, torch::kCPU, info, train, val, test, 7, {}});
    EXPECT_GT(encoder.calls, 0);
    EXPECT_EQ(encoder.leaked, 0.0);
    EXPECT_FALSE(encoder.marked_present);
    EXPECT_FALSE(with_features.metrics.empty());

    // A lead named as both input and target, or not a lead at all, fails clearly.
    auto make = [&](std::map<std::string, ParamValue> p) {
        return test_support::registry().make_task("lead_reconstruction", ecgbench::validate_params(plugin.manifest().params, p));
    };
    EXPECT_THROW(make({{"inputs", std::vector<std::string>{"I"}}, {"targets", std::vector<std::string>{"I", "V1"}}}), std::invalid_argument);
    EXPECT_THROW(make({{"inputs", std::vector<std::string>{"lead one"}}}), std::invalid_argument);
}

}  // namespace
