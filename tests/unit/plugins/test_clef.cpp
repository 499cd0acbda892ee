// The clef plugin: missing metadata falls back to plain NT-Xent exactly, known risks re-weight the
// negatives (the share is recorded), the risk scale comes from the pretraining split, parameters
// are checked, and the loss trains.
#include "unit/plugins/ssl_method_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using namespace test_support;

constexpr std::int64_t kLeads = 3, kSamples = 128, kB = 6;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Result {
    double total;
    double weighted_pairs;
    double mean_weight;
};

// One loss of a freshly set-up clef: the same seeds give the same head and the same views, so two
// parameter sets differ only in the weights.
Result clef_loss(const std::map<std::string, ecgbench::ParamValue>& params, const ecgbench::Batch& batch,
                 const ecgbench::EcgSplit* data = nullptr) {
    at::manual_seed(0);
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto method = make_method("clef", params);
    auto context = pretrain_context(*encoder, kLeads, kSamples);
    context.data = data;
    method->setup(*encoder, context);
    at::manual_seed(1);
    const auto loss = method->loss(*encoder, batch);
    return {loss.total.item<double>(), loss.terms.at("weighted_pairs").item<double>(), loss.terms.at("mean_weight").item<double>()};
}

const std::map<std::string, ecgbench::ParamValue> kUnweighted = {{"weighting", std::string("none")}};

TEST(Clef, AllMetadataMissingIsExactlyTheUnweightedLoss) {
    auto batch = fixed_batch(kB, kLeads, kSamples);
    const Result plain = clef_loss(kUnweighted, batch);
    EXPECT_EQ(plain.weighted_pairs, 0.0);
    EXPECT_EQ(plain.mean_weight, 1.0);
    ASSERT_TRUE(std::isfinite(plain.total));

    // The covariate absent from the dataset, then present but NaN for every record: every weighting
    // gives the unweighted loss to the last bit, and records that no pair was weighted.
    for (const std::string weighting : {"linear", "exponential", "sigmoid"}) {
        SCOPED_TRACE(weighting);
        const Result absent = clef_loss({{"weighting", weighting}}, batch);
        EXPECT_EQ(absent.total, plain.total);
        EXPECT_EQ(absent.weighted_pairs, 0.0);
        batch.covariates["risk_score"] = at::full({kB}, kNaN);
        const Result missing = clef_loss({{"weighting", weighting}}, batch);
        EXPECT_EQ(missing.total, plain.total);
        EXPECT_EQ(missing.weighted_pairs, 0.0);
        batch.covariates.clear();
    }
}

TEST(Clef, KnownRisksReweightNegativesAndTheShareIsRecorded) {
    auto batch = fixed_batch(kB, kLeads, kSamples);
    const Result plain = clef_loss(kUnweighted, batch);
    // Equal risks: every negative weighs min_weight (0.1 by default) < 1, so the loss drops.
    batch.covariates["risk_score"] = at::full({kB}, 12.0f);
    const Result equal = clef_loss({}, batch);
    EXPECT_DOUBLE_EQ(equal.weighted_pairs, 1.0);
    EXPECT_NEAR(equal.mean_weight, 0.1, 1e-6);
    EXPECT_LT(equal.total, plain.total);
    // weighting = "none" ignores the covariate (the ablation without covariates).
    EXPECT_EQ(clef_loss(kUnweighted, batch).total, plain.total);
    // Risks for records 0 and 2 only: 2 of the 6·5 = 30 ordered record pairs are weighted, with
    // 0.1 + 0.9·min(1, 0.5/1) = 0.55 (no split given: scale 1).
    batch.covariates["risk_score"] = at::tensor({3.0f, kNaN, 3.5f, kNaN, kNaN, kNaN});
    const Result partial = clef_loss({}, batch);
    EXPECT_NEAR(partial.weighted_pairs, 2.0 / 30.0, 1e-6);
    EXPECT_NEAR(partial.mean_weight, (2 * 0.55 + 28) / 30, 1e-6);
    EXPECT_NE(partial.total, plain.total);
    // Another covariate can be named.
    batch.covariates["age"] = at::full({kB}, 50.0f);
    EXPECT_DOUBLE_EQ(clef_loss({{"risk_covariate", std::string("age")}}, batch).weighted_pairs, 1.0);
}

// Scale 0 = the SD of the covariate over the pretraining split: values 0 and 2 → mean 1, sample
// variance ((−1)² + 1²)/1 = 2, SD √2. Risks 0 and 1 in the batch (others missing), linear,
// min_weight 0: weight 1/√2 = 0.707107 for the 2 ordered pairs, 1 for the other 28:
// mean_weight = (2·0.707107 + 28)/30 = 0.980474. With risk_scale = 1: x = 1, weight 1, mean 1.
TEST(Clef, RiskScaleDefaultsToTheSplitStandardDeviation) {
    ecgbench::EcgSplit data;
    data.signals = at::zeros({3, kLeads, kSamples});
    data.covariates["risk_score"] = at::tensor({0.0f, 2.0f, kNaN});
    auto batch = fixed_batch(kB, kLeads, kSamples);
    batch.covariates["risk_score"] = at::tensor({0.0f, 1.0f, kNaN, kNaN, kNaN, kNaN});
    const std::map<std::string, ecgbench::ParamValue> linear = {{"min_weight", 0.0}};
    EXPECT_NEAR(clef_loss(linear, batch, &data).mean_weight, (2 / std::sqrt(2.0) + 28) / 30, 1e-6);
    auto fixed = linear;
    fixed["risk_scale"] = 1.0;
    EXPECT_NEAR(clef_loss(fixed, batch, &data).mean_weight, 1.0, 1e-6);
}

TEST(Clef, ParametersAreValidated) {
    try {
        make_method("clef", {{"risk_covariate", std::string("")}});
        FAIL() << "an empty covariate with weighting on must be refused";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("risk_covariate"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(make_method("clef", {{"risk_covariate", std::string("")}, {"weighting", std::string("none")}}));
    EXPECT_THROW(ssl_params("clef", {{"weighting", std::string("quadratic")}}), std::invalid_argument);
    EXPECT_THROW(ssl_params("clef", {{"min_weight", 1.5}}), std::invalid_argument);
    EXPECT_THROW(ssl_params("clef", {{"weight_temperature", 0.0}}), std::invalid_argument);
    // No hard need: CLEF runs on datasets without the covariate.
    EXPECT_TRUE(registry().require("clef", ecgbench::PluginKind::Ssl).manifest().needs.empty());
}

TEST(Clef, LossIsFiniteAndDecreasesOnAFixedBatch) {
    at::manual_seed(0);
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto method = make_method("clef");
    method->setup(*encoder, pretrain_context(*encoder, kLeads, kSamples));
    auto batch = fixed_batch(8, kLeads, kSamples);
    batch.covariates["risk_score"] = at::tensor({1.0f, 4.0f, kNaN, 20.0f, 7.5f, 2.0f, kNaN, 30.0f});
    at::manual_seed(1);
    const auto losses = train_on_batch(*method, *encoder, batch, 20);
    for (double l : losses) ASSERT_TRUE(std::isfinite(l));
    EXPECT_LT(mean_of(losses, 15, 20), mean_of(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
}

}  // namespace
