// classification_result on hand-made logits: the CinC 2021 challenge score at the thresholds chosen
// on validation (only for datasets named by its SNOMED CT codes), and the bootstrap method choice.
#include "ecgbench/classification.hpp"
#include "ecgbench/metrics.hpp"
#include "ecgbench/resampling.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

using ecgbench::Metric;

const std::vector<std::string> kSnomed{"426783006", "164889003", "164890007"};  // sinus rhythm, AF, atrial flutter

ecgbench::EcgSplit split_with(const std::vector<float>& labels, std::int64_t classes) {
    ecgbench::EcgSplit s;
    const auto n = static_cast<std::int64_t>(labels.size()) / classes;
    s.signals = at::zeros({n, 1, 1});
    s.labels = at::tensor(labels).reshape({n, classes});
    return s;
}

at::Tensor logits(const std::vector<double>& values, std::int64_t classes) {
    return at::tensor(values, at::kDouble).reshape({static_cast<std::int64_t>(values.size()) / classes, classes});
}

const Metric* find(const std::vector<Metric>& metrics, const std::string& name) {
    for (const auto& m : metrics)
        if (m.name == name && m.split == "test") return &m;
    return nullptr;
}

// Validation makes the F1-best thresholds 1 (sinus), 1 (AF) and none (flutter: no positive).
const std::vector<float> kValLabels{1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
const std::vector<double> kValLogits{3, 0.5, 0, 2, -0.5, 0, 1, 2, 0, -1, 1, 0, -2, -1, 0, -3, -2, 0};
const std::vector<float> kTestLabels{1, 0, 0,  //
                                     0, 1, 1,
                                     1, 0, 0,
                                     0, 0, 1,
                                     1, 1, 0};
const std::vector<double> kTestLogits{1, 0.99, 5,  //
                                      0.5, 3, 0,
                                      2, 1, -1,
                                      -2, -3, 0,
                                      1.5, -1, 0};

struct Fixture {
    ecgbench::DatasetInfo info;
    ecgbench::EcgSplit train, val, test;
    explicit Fixture(std::vector<std::string> classes)
        : train(split_with(kTestLabels, 3)), val(split_with(kValLabels, 3)), test(split_with(kTestLabels, 3)) {
        info.name = "hand-made";
        info.classes = std::move(classes);
    }
    ecgbench::TaskResult score(std::int64_t resamples,
                               ecgbench::BootstrapMethod bootstrap = ecgbench::BootstrapMethod::Percentile) const {
        const ecgbench::EvalContext ctx{nullptr, {}, {}, at::kCPU, info, train, val, test, 42, {}};
        return ecgbench::classification_result(ctx, logits(kValLogits, 3), logits(kTestLogits, 3), {resamples, {}}, bootstrap);
    }
};

TEST(ClassificationResult, ChallengeScoreAtTheValidationThresholds) {
    const Fixture f(kSnomed);
    const auto result = f.score(0);
    const Metric* score = find(result.metrics, "challenge_score");
    ASSERT_NE(score, nullptr);
    // Logit ≥ 1 outputs sinus or AF (1 itself included); flutter is never output, whatever its logit.
    const std::vector<int> outputs{1, 0, 0,  //
                                   0, 1, 0,
                                   1, 1, 0,
                                   0, 0, 0,
                                   1, 0, 0};
    const std::vector<int> labels(kTestLabels.begin(), kTestLabels.end());
    const double expected = ecgbench::challenge_score(labels, outputs, kSnomed, ecgbench::challenge2021_weights()).normalized;
    EXPECT_DOUBLE_EQ(score->value, expected);
    // Thresholding at logit 0 instead would output more (flutter in records 0, 1, 3 and 4 among them).
    const std::vector<int> at_zero{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1};
    EXPECT_NE(score->value, ecgbench::challenge_score(labels, at_zero, kSnomed, ecgbench::challenge2021_weights()).normalized);
}

TEST(ClassificationResult, NoChallengeScoreForOtherClassNames) {
    EXPECT_EQ(find(Fixture({"A", "B", "C"}).score(0).metrics, "challenge_score"), nullptr);
}

TEST(ClassificationResult, BootstrapMethodChoosesTheResampling) {
    const Fixture f({"A", "B", "C"});
    const std::vector<double> scores = kTestLogits;
    const std::vector<int> labels(kTestLabels.begin(), kTestLabels.end());
    const auto plain_result = f.score(300);
    const auto stratified_result = f.score(300, ecgbench::BootstrapMethod::StratifiedPerLabel);
    const Metric* percentile = find(plain_result.metrics, "macro_auroc");
    const Metric* stratified = find(stratified_result.metrics, "macro_auroc");
    ASSERT_TRUE(percentile && percentile->ci_low && stratified && stratified->ci_low);
    const auto [low, high] = ecgbench::bootstrap_macro_auroc_ci(scores, labels, 3, 300, 42);
    EXPECT_DOUBLE_EQ(*percentile->ci_low, low);
    EXPECT_DOUBLE_EQ(*percentile->ci_high, high);
    const auto interval = ecgbench::stratified_per_label_interval(
        scores, labels, 3, [](const auto& s, const auto& l) { return ecgbench::auroc(s, l); }, {300, 42});
    EXPECT_DOUBLE_EQ(*stratified->ci_low, interval.low);
    EXPECT_DOUBLE_EQ(*stratified->ci_high, interval.high);
    EXPECT_NE(*stratified->ci_low, low);
}

}  // namespace
