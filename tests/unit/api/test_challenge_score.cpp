// The PhysioNet/CinC Challenge 2021 score: each step on hand-computed three-class cases, the
// weights loader, and parity to 1e-9 with the organisers' evaluate_model.py on seeded random
// tables (tests/fixtures/challenge2021_score.txt, written by tools/challenge_fixtures.py).
#include "ecgbench/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::challenge2021_weights;
using ecgbench::challenge_confusion_matrix;
using ecgbench::challenge_score;
using ecgbench::ChallengeWeights;
using ecgbench::parse_challenge_weights;

const std::string kSinus = "426783006", kAf = "164889003", kAfl = "164890007", kRbbb = "713427006|59118001";

// Sinus rhythm, atrial fibrillation and flutter; AF and flutter earn each other half credit.
ChallengeWeights three_classes() {
    return {{kSinus, kAf, kAfl}, {1, 0, 0,  //
                                  0, 1, 0.5,
                                  0, 0.5, 1}};
}

// Record 0: AF, output AF and flutter. Record 1: sinus and AF, output sinus. Record 2: nothing
// scored, output flutter.
const std::vector<int> kLabels{0, 1, 0,  //
                               1, 1, 0,
                               0, 0, 0};
const std::vector<int> kOutputs{0, 1, 1,  //
                                1, 0, 0,
                                0, 0, 1};

TEST(ChallengeConfusion, EachRecordSharesOneUnitOverItsTrueAndOutputClasses) {
    // Record 0 involves 2 classes: (AF, AF) and (AF, flutter) get ½ each. Record 1 involves 2:
    // (sinus, sinus) and (AF, sinus) get ½ each. Record 2 has no true class: nothing.
    const std::vector<double> expected{0.5, 0, 0,  //
                                       0.5, 0.5, 0.5,
                                       0, 0, 0};
    EXPECT_EQ(challenge_confusion_matrix(kLabels, kOutputs, 3), expected);
}

TEST(ChallengeConfusion, ARecordWithNothingTrueOrOutputCountsNothing) {
    EXPECT_EQ(challenge_confusion_matrix({0, 0, 1, 0}, {0, 0, 1, 0}, 2), (std::vector<double>{1, 0, 0, 0}));
}

TEST(ChallengeScore, ObservedCorrectInactiveAndNormalisedByHand) {
    const auto score = challenge_score(kLabels, kOutputs, {kSinus, kAf, kAfl}, three_classes());
    // Observed: ½·1 (sinus→sinus) + ½·0 (AF→sinus) + ½·1 (AF→AF) + ½·½ (AF→flutter).
    EXPECT_DOUBLE_EQ(score.observed, 1.25);
    // Correct: record 0 gives (AF, AF) 1; record 1 gives ½ to each of its four pairs, two on the diagonal.
    EXPECT_DOUBLE_EQ(score.correct, 2.0);
    // Inactive (sinus alone): record 0's (AF, sinus) is worth 0, record 1's (sinus, sinus) ½.
    EXPECT_DOUBLE_EQ(score.inactive, 0.5);
    EXPECT_DOUBLE_EQ(score.normalized, (1.25 - 0.5) / (2.0 - 0.5));
}

TEST(ChallengeScore, PerfectOutputsScoreOneAndAlwaysSinusScoresZero) {
    EXPECT_DOUBLE_EQ(challenge_score(kLabels, kLabels, {kSinus, kAf, kAfl}, three_classes()).normalized, 1.0);
    const std::vector<int> sinus_only{1, 0, 0, 1, 0, 0, 1, 0, 0};
    EXPECT_DOUBLE_EQ(challenge_score(kLabels, sinus_only, {kSinus, kAf, kAfl}, three_classes()).normalized, 0.0);
}

TEST(ChallengeScore, UndefinedWhenThePerfectAndTheSinusClassifierCoincide) {
    // Every record is sinus rhythm alone: the always-sinus classifier is perfect, nothing to normalise by.
    const auto score = challenge_score({1, 0, 0, 1, 0, 0}, {0, 1, 0, 1, 0, 0}, {kSinus, kAf, kAfl}, three_classes());
    EXPECT_DOUBLE_EQ(score.correct, score.inactive);
    EXPECT_TRUE(std::isnan(score.normalized));
}

TEST(ChallengeScore, ColumnsMatchWeightClassesByCodeInAnyOrder) {
    const ChallengeWeights weights{{kSinus, kAf, kRbbb}, {1, 0.2, 0.1,  //
                                                          0.2, 1, 0.4,
                                                          0.1, 0.4, 1}};
    // In the weights' order: sinus, AF, RBBB.
    const std::vector<int> labels{1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0};
    const std::vector<int> outputs{1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0};
    const auto expected = challenge_score(labels, outputs, weights.classes, weights);
    // The same records with columns reordered, the pair written the other way, and an unscored
    // class (10370003) whose column must not count.
    const std::vector<std::string> shuffled{"59118001|713427006", "10370003", kSinus, kAf};
    const std::vector<int> labels_shuffled{1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    const std::vector<int> outputs_shuffled{0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0};
    const auto got = challenge_score(labels_shuffled, outputs_shuffled, shuffled, weights);
    EXPECT_DOUBLE_EQ(got.observed, expected.observed);
    EXPECT_DOUBLE_EQ(got.correct, expected.correct);
    EXPECT_DOUBLE_EQ(got.inactive, expected.inactive);
    // The pair split over two columns, one code each: a record has the class if either column says so.
    const std::vector<std::string> split{kSinus, kAf, "713427006", "59118001"};
    const std::vector<int> labels_split{1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0};
    const std::vector<int> outputs_split{1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0};
    EXPECT_DOUBLE_EQ(challenge_score(labels_split, outputs_split, split, weights).observed, expected.observed);
}

TEST(ChallengeScore, BadInputIsRejected) {
    const auto weights = three_classes();
    EXPECT_THROW(challenge_score({1, 0, 0}, {1, 0}, {kSinus, kAf, kAfl}, weights), std::invalid_argument);
    EXPECT_THROW(challenge_score({2, 0, 0}, {1, 0, 0}, {kSinus, kAf, kAfl}, weights), std::invalid_argument);
    const ChallengeWeights no_sinus{{kAf, kAfl}, {1, 0.5, 0.5, 1}};
    EXPECT_THROW(challenge_score({1, 0}, {1, 0}, {kAf, kAfl}, no_sinus), std::invalid_argument);
}

std::string parse_error(const std::string& text) {
    std::istringstream in(text);
    try {
        parse_challenge_weights(in, "w.csv");
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(ChallengeWeightsFile, ParsesTheOrganisersFormatWithCommentsAndCrLf) {
    std::istringstream in("# comment\r\n,426783006,164909002|733534002\r\n\r\n426783006, 1.0, 0.25\r\n733534002|164909002,0.25,1\r\n");
    const auto weights = parse_challenge_weights(in, "w.csv");
    EXPECT_EQ(weights.classes, (std::vector<std::string>{"426783006", "164909002|733534002"}));
    EXPECT_EQ(weights.weights, (std::vector<double>{1, 0.25, 0.25, 1}));
}

TEST(ChallengeWeightsFile, ErrorsNameTheLineAndTheCell) {
    EXPECT_EQ(parse_error(",a,b\na,1,x\nb,0,1\n"), "w.csv:2: column 3 ('b') is 'x', not a finite number");
    EXPECT_EQ(parse_error(",a,b\nb,1,0\na,0,1\n"), "w.csv:2: row 'b' where the header's class 1 is 'a'");
    EXPECT_EQ(parse_error(",a,b\na,1,0,3\n"), "w.csv:2: 3 weights, the header names 2 classes");
    EXPECT_EQ(parse_error(",a,b\na,1,0\n"), "w.csv: 1 rows for the 2 classes of the header");
    EXPECT_EQ(parse_error("# only a comment\n"), "w.csv: no weights table");
}

TEST(ChallengeWeightsFile, ThePublishedMatrixIsCompiledIn) {
    const auto& weights = challenge2021_weights();
    // The file in the source tree parses to the same table.
    const auto from_file = ecgbench::read_challenge_weights(std::string(ECGBENCH_SOURCE_DIR) + "/harness/data/challenge2021_weights.csv");
    EXPECT_EQ(from_file.classes, weights.classes);
    EXPECT_EQ(from_file.weights, weights.weights);
    ASSERT_EQ(weights.classes.size(), 26u);
    EXPECT_EQ(weights.classes[4], "733534002|164909002");
    EXPECT_EQ(weights.classes[14], kSinus);
    for (std::size_t i = 0; i < 26; ++i) {
        EXPECT_EQ(weights.weights[i * 26 + i], 1.0);
        for (std::size_t j = 0; j < 26; ++j) EXPECT_EQ(weights.weights[i * 26 + j], weights.weights[j * 26 + i]);
    }
    EXPECT_EQ(weights.weights[1], 0.5);  // 164889003 (AF) vs 164890007 (atrial flutter)
}

// The organisers' values: one case per `case` … `end` block; `classes` holds names, every other
// line numbers.
struct Case {
    std::string name;
    std::vector<std::string> classes;
    std::map<std::string, std::vector<double>> values;
    const std::vector<double>& at(const std::string& key) const {
        const auto it = values.find(key);
        if (it == values.end()) throw std::runtime_error(name + ": fixture has no line '" + key + "'");
        return it->second;
    }
    std::vector<int> ints(const std::string& key) const { return {at(key).begin(), at(key).end()}; }
};

std::vector<Case> read_fixtures() {
    const std::string path = std::string(ECGBENCH_SOURCE_DIR) + "/tests/fixtures/challenge2021_score.txt";
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
            words >> cases.back().name;
        } else if (key == "classes") {
            for (std::string name; words >> name;) cases.back().classes.push_back(name);
        } else if (key != "end") {
            auto& v = cases.back().values[key];
            for (double x; words >> x;) v.push_back(x);
        }
    }
    return cases;
}

constexpr double kTolerance = 1e-9;

TEST(ChallengeScoreParity, MatchesTheOrganisersEvaluateModel) {
    const auto cases = read_fixtures();
    ASSERT_EQ(cases.size(), 3u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const ChallengeWeights weights{c.classes, c.at("weights")};
        const auto k = static_cast<std::int64_t>(c.classes.size());
        const auto confusion = challenge_confusion_matrix(c.ints("labels"), c.ints("outputs"), k);
        ASSERT_EQ(confusion.size(), c.at("confusion").size());
        for (std::size_t i = 0; i < confusion.size(); ++i) EXPECT_NEAR(confusion[i], c.at("confusion")[i], kTolerance) << i;
        const auto score = challenge_score(c.ints("labels"), c.ints("outputs"), c.classes, weights);
        EXPECT_NEAR(score.observed, c.at("observed")[0], kTolerance);
        EXPECT_NEAR(score.correct, c.at("correct")[0], kTolerance);
        EXPECT_NEAR(score.inactive, c.at("inactive")[0], kTolerance);
        EXPECT_NEAR(score.normalized, c.at("normalized")[0], kTolerance);
    }
}

TEST(ChallengeScoreParity, CompiledInWeightsAreTheOrganisersAndScoreTheSame) {
    for (const auto& c : read_fixtures()) {
        if (c.name.rfind("weights2021", 0) != 0) continue;
        SCOPED_TRACE(c.name);
        const auto& published = challenge2021_weights();
        EXPECT_EQ(published.weights, c.at("weights"));  // load_weights' doubles, exactly
        // The organisers print pairs with sorted codes; the compiled-in names keep the file's order.
        const auto score = challenge_score(c.ints("labels"), c.ints("outputs"), published.classes, published);
        EXPECT_NEAR(score.normalized, c.at("normalized")[0], kTolerance);
    }
}

}  // namespace
