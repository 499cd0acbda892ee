// Labelled training subsets of evaluation cells (runner/label_subsets.hpp): k-shot per class and
// label fractions, on hand-made label matrices.
#include "runner/label_subsets.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecgbench {
namespace {

// A split of n records whose labels are the rows of `labels` (multi-hot), signals empty.
EcgSplit split_with(const std::vector<std::vector<float>>& labels) {
    const auto n = static_cast<std::int64_t>(labels.size()), c = static_cast<std::int64_t>(labels.front().size());
    EcgSplit s;
    s.signals = at::zeros({n, 1, 4});
    s.lead_present = at::ones({n, 1}, at::kBool);
    s.labels = at::zeros({n, c});
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < c; ++j) s.labels[i][j] = labels[i][j];
    s.subjects = at::arange(n, at::kLong);
    for (std::int64_t i = 0; i < n; ++i) s.record_ids.push_back(std::to_string(i));
    return s;
}

std::vector<std::int64_t> per_class(const EcgSplit& s) {
    const at::Tensor sums = s.labels.sum(0).to(at::kLong);
    return std::vector<std::int64_t>(sums.data_ptr<std::int64_t>(), sums.data_ptr<std::int64_t>() + sums.numel());
}

TEST(LabelSubsets, KShotMultiClassTakesExactlyKPerClassAndIsSeeded) {
    // 3 classes with 10, 6 and 2 records (one-hot): 2-shot takes 2 of each, 5-shot 5, 5 and both of the last.
    std::vector<std::vector<float>> labels;
    for (int i = 0; i < 10; ++i) labels.push_back({1, 0, 0});
    for (int i = 0; i < 6; ++i) labels.push_back({0, 1, 0});
    for (int i = 0; i < 2; ++i) labels.push_back({0, 0, 1});
    const EcgSplit train = split_with(labels);
    EXPECT_EQ(per_class(k_shot_subset(train, 2, 0)), (std::vector<std::int64_t>{2, 2, 2}));
    EXPECT_EQ(per_class(k_shot_subset(train, 5, 0)), (std::vector<std::int64_t>{5, 5, 2}));
    EXPECT_EQ(k_shot_subset(train, 100, 0).size(), 18);

    // The same seed draws the same records (every method sees them); another seed draws others.
    const auto ids = [](const EcgSplit& s) { return s.record_ids; };
    EXPECT_EQ(ids(k_shot_subset(train, 3, 7)), ids(k_shot_subset(train, 3, 7)));
    std::set<std::vector<std::string>> draws;
    for (int seed = 0; seed < 5; ++seed) draws.insert(ids(k_shot_subset(train, 3, seed)));
    EXPECT_GT(draws.size(), 1u);
    // Records keep their order in the split.
    const auto kept = ids(k_shot_subset(train, 3, 1));
    for (std::size_t i = 1; i < kept.size(); ++i) EXPECT_LT(std::stoi(kept[i - 1]), std::stoi(kept[i]));
}

TEST(LabelSubsets, KShotMultiLabelCountsARecordForEveryClassItCarries) {
    // Every record carries class 0; class 1 is on records 0-3. 2-shot: class 0 takes 2 records; if
    // they carry class 1 too, class 1 needs no more. Either way each class ends with >= 2 and the
    // subset holds at most 4 records (2 for class 0, then at most 2 more for class 1).
    const EcgSplit train = split_with({{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 0}, {1, 0}, {1, 0}, {1, 0}});
    for (int seed = 0; seed < 10; ++seed) {
        const EcgSplit s = k_shot_subset(train, 2, seed);
        const auto counts = per_class(s);
        EXPECT_GE(counts[0], 2);
        EXPECT_GE(counts[1], 2);
        EXPECT_LE(s.size(), 4);
    }
}

TEST(LabelSubsets, KShotNeedsLabelsAndFractionsKeepAtLeastTwo) {
    EcgSplit unlabelled = split_with({{1}, {1}});
    unlabelled.labels = at::zeros({2, 0});
    EXPECT_THROW((void)k_shot_subset(unlabelled, 1, 0), std::runtime_error);

    std::vector<std::vector<float>> labels(20, {1});
    const EcgSplit train = split_with(labels);
    EXPECT_EQ(label_fraction_subset(train, 1.0, 0).size(), 20);
    EXPECT_EQ(label_fraction_subset(train, 0.25, 0).size(), 5);
    EXPECT_EQ(label_fraction_subset(train, 0.01, 0).size(), 2);

    EvalCell cell;
    cell.shots = 1;
    EXPECT_EQ(labelled_subset(train, cell).size(), 1);
    cell.shots = 0;
    cell.label_fraction = 0.5;
    EXPECT_EQ(labelled_subset(train, cell).size(), 10);
}

}  // namespace
}  // namespace ecgbench
