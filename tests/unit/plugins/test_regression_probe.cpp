// The `regression_probe` task on toy embeddings with known linear and non-linear targets.
#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/task.hpp"
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace {

using ecgbench::ParamValue;

class FlattenEncoder final : public ecgbench::Encoder {
public:
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override { return {b.signals.flatten(1), {}}; }
    std::int64_t embedding_dim() const override { return 8; }
};

/// 1 lead × 8 samples of N(0, 1). Covariates: "linear" = 50 + 3·x0 − 2·x1 (exact), "square" = x0²
/// (invisible to a linear model: uncorrelated with every feature), "gappy" = "linear" with every
/// third record missing (NaN).
ecgbench::EcgSplit toy_split(std::int64_t n, std::uint64_t seed) {
    at::manual_seed(seed);
    ecgbench::EcgSplit s;
    s.signals = at::randn({n, 1, 8});
    s.lead_present = at::ones({n, 1}, at::kBool);
    s.labels = at::zeros({n, 0});
    s.subjects = at::arange(n, at::kLong);
    const at::Tensor x0 = s.signals.select(1, 0).select(1, 0), x1 = s.signals.select(1, 0).select(1, 1);
    s.covariates["linear"] = 50 + 3 * x0 - 2 * x1;
    s.covariates["square"] = x0 * x0;
    at::Tensor gappy = s.covariates["linear"].clone();
    gappy.slice(0, 0, n, 3).fill_(std::nan(""));
    s.covariates["gappy"] = gappy;
    return s;
}

struct ProbeRun {
    ecgbench::TaskResult result;
    double metric(const std::string& name) const {
        for (const auto& m : result.metrics)
            if (m.name == name && m.split == "test") return m.value;
        ADD_FAILURE() << "no metric " << name;
        return std::nan("");
    }
};

ProbeRun run(std::map<std::string, ParamValue> params, std::int64_t n = 600) {
    const auto& plugin = test_support::registry().require("regression_probe", ecgbench::PluginKind::Task);
    auto task = test_support::registry().make_task("regression_probe", ecgbench::validate_params(plugin.manifest().params, params));
    ecgbench::DatasetInfo info;
    info.name = "toy";
    info.leads = {"II"};
    info.covariates = {"linear", "square", "gappy"};
    const auto train = toy_split(n, 1), val = toy_split(n / 4, 2), test = toy_split(n / 4, 3);
    FlattenEncoder encoder;
    const ecgbench::EncoderPtr borrowed(std::shared_ptr<ecgbench::Encoder>{}, &encoder);
    ecgbench::EvalContext ctx{borrowed, {}, {}, torch::kCPU, info, train, val, test, 7, {}};
    return {task->evaluate(ctx)};
}

TEST(RegressionProbe, RidgeRecoversALinearTargetInItsOwnUnits) {
    const ProbeRun r = run({{"targets", std::vector<std::string>{"linear"}}});
    EXPECT_GT(r.metric("r2/linear"), 0.9999);
    EXPECT_GT(r.metric("pearson_r/linear"), 0.9999);
    EXPECT_LT(r.metric("mae/linear"), 0.05);  // the target's SD is √13 ≈ 3.6
    EXPECT_EQ(r.metric("n/linear"), 150);
    for (const auto& m : r.result.metrics) {
        const bool error_metric = m.name.rfind("mae/", 0) == 0 || m.name.rfind("rmse/", 0) == 0;
        EXPECT_EQ(m.direction == ecgbench::Direction::LowerIsBetter, error_metric) << m.name;
    }
    ASSERT_EQ(r.result.outputs.size(), 2u);
    EXPECT_EQ(r.result.outputs[0].kind, "predictions");
    EXPECT_EQ(r.result.outputs[1].kind, "targets");
    EXPECT_NEAR((r.result.outputs[0].values - r.result.outputs[1].values).abs().mean().item<double>(), r.metric("mae/linear"), 1e-4);
}

TEST(RegressionProbe, MlpLearnsWhatALinearHeadCannot) {
    const std::vector<std::string> square{"square"};
    const ProbeRun ridge = run({{"targets", square}});
    const ProbeRun mlp = run({{"targets", square}, {"head", std::string("mlp")}, {"hidden", std::int64_t{64}}, {"learning_rate", 3e-3}});
    EXPECT_LT(ridge.metric("r2/square"), 0.1);
    EXPECT_GT(mlp.metric("r2/square"), 0.6);
}

TEST(RegressionProbe, MissingValuesAreLeftOutAndCounted) {
    const ProbeRun r = run({{"targets", std::vector<std::string>{"gappy"}}});
    EXPECT_EQ(r.metric("n/gappy"), 100);  // 150 test records, every third missing
    EXPECT_GT(r.metric("r2/gappy"), 0.9999);
    const at::Tensor predictions = r.result.outputs[0].values.select(1, 0);
    EXPECT_EQ(at::isnan(predictions).sum().item<std::int64_t>(), 50);
    EXPECT_TRUE(std::isnan(predictions[0].item<double>()));
}

TEST(RegressionProbe, AnUndeclaredTargetNamesTheDatasetAndTheCovariate) {
    try {
        run({{"targets", std::vector<std::string>{"age"}}}, 40);
        FAIL() << "expected an error";
    } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("'toy'"), std::string::npos) << message;
        EXPECT_NE(message.find("'age'"), std::string::npos) << message;
        EXPECT_NE(message.find("gappy, linear, square"), std::string::npos) << message;
    }
    const auto& plugin = test_support::registry().require("regression_probe", ecgbench::PluginKind::Task);
    EXPECT_THROW(test_support::registry().make_task("regression_probe", ecgbench::validate_params(plugin.manifest().params, {})),
                 std::invalid_argument);
}

}  // namespace
