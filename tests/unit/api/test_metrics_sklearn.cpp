// Parity with scikit-learn to 1e-9 on seeded random and tied inputs: tests/fixtures/sklearn_metrics.txt,
// written by tools/sklearn_fixtures.py with Debian's python3-sklearn (the values are sklearn's own
// doubles, printed with 17 significant digits).
#include "ecgbench/metrics.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Case {
    std::string name, kind;
    std::int64_t rows = 0, classes = 0;
    std::map<std::string, std::vector<double>> values;  // every line after the header, by its first word
    const std::vector<double>& at(const std::string& key) const {
        const auto it = values.find(key);
        if (it == values.end()) throw std::runtime_error(name + ": fixture has no line '" + key + "'");
        return it->second;
    }
    double scalar(const std::string& key) const { return at(key).at(0); }
    std::vector<int> ints(const std::string& key) const { return {at(key).begin(), at(key).end()}; }
};

std::vector<Case> read_fixtures() {
    const std::string path = std::string(ECGBENCH_SOURCE_DIR) + "/tests/fixtures/sklearn_metrics.txt";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::vector<Case> cases;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        std::string key;
        words >> key;
        if (key == "case") {
            cases.emplace_back();
            words >> cases.back().name >> cases.back().kind >> cases.back().rows >> cases.back().classes;
        } else if (key != "end") {
            auto& v = cases.back().values[key];
            for (double x; words >> x;) v.push_back(x);
        }
    }
    return cases;
}

constexpr double kTolerance = 1e-9;

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], kTolerance) << what << "[" << i << "]";
}

TEST(MetricsSklearnParity, FixturesCoverEveryKind) {
    std::map<std::string, int> kinds;
    for (const auto& c : read_fixtures()) ++kinds[c.kind];
    EXPECT_EQ(kinds["multilabel"], 3);
    EXPECT_EQ(kinds["binary"], 2);
    EXPECT_EQ(kinds["multiclass"], 1);
    EXPECT_EQ(kinds["regression"], 1);
}

TEST(MetricsSklearnParity, MultiLabelAurocAndAveragePrecision) {
    for (const auto& c : read_fixtures()) {
        if (c.kind != "multilabel") continue;
        SCOPED_TRACE(c.name);
        const auto auroc = ecgbench::averaged_auroc(c.at("scores"), c.ints("labels"), c.classes);
        EXPECT_NEAR(auroc.macro, c.scalar("auroc_macro"), kTolerance);
        EXPECT_NEAR(auroc.weighted, c.scalar("auroc_weighted"), kTolerance);
        EXPECT_NEAR(auroc.micro, c.scalar("auroc_micro"), kTolerance);
        expect_near_all(auroc.per_class, c.at("auroc_per_class"), "auroc_per_class");
        EXPECT_EQ(auroc.undefined_classes, 0);
        const auto ap = ecgbench::averaged_average_precision(c.at("scores"), c.ints("labels"), c.classes);
        EXPECT_NEAR(ap.macro, c.scalar("ap_macro"), kTolerance);
        EXPECT_NEAR(ap.weighted, c.scalar("ap_weighted"), kTolerance);
        EXPECT_NEAR(ap.micro, c.scalar("ap_micro"), kTolerance);
        expect_near_all(ap.per_class, c.at("ap_per_class"), "ap_per_class");
    }
}

TEST(MetricsSklearnParity, BinaryThresholdMetrics) {
    for (const auto& c : read_fixtures()) {
        if (c.kind != "binary") continue;
        SCOPED_TRACE(c.name);
        const auto& scores = c.at("scores");
        const auto labels = c.ints("labels");
        EXPECT_NEAR(ecgbench::auroc(scores, labels), c.scalar("auroc"), kTolerance);
        EXPECT_NEAR(ecgbench::average_precision(scores, labels), c.scalar("ap"), kTolerance);
        const auto counts = ecgbench::counts_at_threshold(scores, labels, 0.5);
        EXPECT_NEAR(counts.f1(), c.scalar("f1_at_0.5"), kTolerance);
        EXPECT_NEAR(counts.sensitivity(), c.scalar("sensitivity_at_0.5"), kTolerance);
        EXPECT_NEAR(counts.specificity(), c.scalar("specificity_at_0.5"), kTolerance);
        EXPECT_NEAR(counts.precision(), c.scalar("precision_at_0.5"), kTolerance);
        EXPECT_NEAR(counts.accuracy(), c.scalar("accuracy_at_0.5"), kTolerance);
        EXPECT_NEAR(counts.balanced_accuracy(), c.scalar("balanced_accuracy_at_0.5"), kTolerance);
    }
}

TEST(MetricsSklearnParity, MultiClassBalancedAccuracyAndRegression) {
    for (const auto& c : read_fixtures()) {
        SCOPED_TRACE(c.name);
        if (c.kind == "multiclass") {
            EXPECT_NEAR(ecgbench::balanced_accuracy(c.ints("predicted"), c.ints("truth"), static_cast<int>(c.classes)),
                        c.scalar("balanced_accuracy"), kTolerance);
        } else if (c.kind == "regression") {
            const auto m = ecgbench::regression_metrics(c.at("predictions"), c.at("targets"));
            EXPECT_NEAR(m.mae, c.scalar("mae"), kTolerance);
            EXPECT_NEAR(m.rmse, c.scalar("rmse"), kTolerance);
            EXPECT_NEAR(m.r2, c.scalar("r2"), kTolerance);
            EXPECT_NEAR(m.pearson_r, c.scalar("pearson_r"), kTolerance);
        }
    }
}

}  // namespace
