// Subgroup metrics (report --subgroups): the spec parser, group labels, and per-group macro AUROC
// on hand-made scored records against values computed by hand.
#include "report/subgroups.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace ecgbench;

TEST(Subgroups, SpecsParseBandsAndDistinctValues) {
    const auto sex = parse_subgroup_spec("sex");
    EXPECT_EQ(sex.covariate, "sex");
    EXPECT_TRUE(sex.edges.empty());
    const auto age = parse_subgroup_spec("age:40,65.5");
    EXPECT_EQ(age.covariate, "age");
    EXPECT_EQ(age.edges, (std::vector<double>{40, 65.5}));
    for (const char* bad : {"", ":40", "age:", "age:40,x", "age:65,40", "age:40,40", "age:4o"})
        EXPECT_THROW(parse_subgroup_spec(bad), std::invalid_argument) << bad;
    try {
        parse_subgroup_spec("age:40,x");
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
    }
}

TEST(Subgroups, LabelsPutEachValueInItsBand) {
    const auto age = parse_subgroup_spec("age:40,65");
    EXPECT_EQ(group_label(age, 39.9), "age < 40");
    EXPECT_EQ(group_label(age, 40), "40 ≤ age < 65");
    EXPECT_EQ(group_label(age, 64.9), "40 ≤ age < 65");
    EXPECT_EQ(group_label(age, 65), "age ≥ 65");
    EXPECT_FALSE(group_label(age, std::nan("")));
    EXPECT_EQ(group_labels(age, {}), (std::vector<std::string>{"age < 40", "40 ≤ age < 65", "age ≥ 65"}));

    const auto sex = parse_subgroup_spec("sex");
    EXPECT_EQ(group_labels(sex, {1, 0, std::nan(""), 1}), (std::vector<std::string>{"sex = 0", "sex = 1"}));
    std::vector<double> ages;
    for (int a = 20; a < 90; ++a) ages.push_back(a);
    EXPECT_THROW(group_labels(parse_subgroup_spec("age"), ages), std::invalid_argument);
}

TEST(Subgroups, MacroAurocPerGroupByHand) {
    // Two classes, six records: three young (< 50), two old, one without an age.
    ScoredRecords r;
    r.record_ids = {"a", "b", "c", "d", "e", "f"};
    r.classes = 2;
    r.scores = {0.1, 0.3,  0.9, 0.8,  0.5, 0.2,   // young
                0.8, 0.4,  0.2, 0.6,              // old
                0.7, 0.1};                        // age missing
    r.labels = {0, 0,  1, 1,  1, 0,
                0, 1,  1, 1,
                1, 0};
    const std::vector<double> age{30, 35, 45, 70, 80, std::nan("")};
    const auto spec = parse_subgroup_spec("age:50");
    const auto groups = group_labels(spec, age);
    ASSERT_EQ(groups, (std::vector<std::string>{"age < 50", "age ≥ 50"}));
    const auto values = group_macro_auroc(r, age, spec, groups);
    // Young, class 0: positives 0.9, 0.5 over the negative 0.1 -> 1. Class 1: positive 0.8 over
    // negatives 0.3, 0.2 -> 1. Macro 1.
    EXPECT_DOUBLE_EQ(values[0], 1.0);
    // Old, class 0: positive 0.2 below the negative 0.8 -> 0. Class 1: both positive, undefined and
    // left out. Macro 0.
    EXPECT_DOUBLE_EQ(values[1], 0.0);

    // A group where no class has both label values is undefined, never 0.5.
    const std::vector<double> all_old{70, 70, 70, 70, 70, 70};
    const auto one = group_macro_auroc(r, all_old, parse_subgroup_spec("age:50,60"), {"age < 50", "50 ≤ age < 60", "age ≥ 60"});
    EXPECT_TRUE(std::isnan(one[0]));
    EXPECT_TRUE(std::isnan(one[1]));
    EXPECT_FALSE(std::isnan(one[2]));
}

namespace {

// One class, records in two age groups: the young perfectly separated (positives score above
// negatives), the old inverted; `flip_old` false makes the old perfectly separated too.
ScoredRecords two_groups(bool flip_old) {
    ScoredRecords r;
    r.classes = 1;
    for (int i = 0; i < 40; ++i) {
        const bool old = i >= 20, positive = i % 2 == 1;
        r.record_ids.push_back("r" + std::to_string(i));
        r.labels.push_back(positive ? 1 : 0);
        // Young: positives 0.6..0.8, negatives 0.1..0.3. Old: the same, or swapped.
        const double high = 0.6 + 0.01 * i, low = 0.1 + 0.01 * i;
        r.scores.push_back((positive != (old && flip_old)) ? high : low);
    }
    return r;
}

std::vector<double> ages_of_two_groups() {
    std::vector<double> age;
    for (int i = 0; i < 40; ++i) age.push_back(i >= 20 ? 70 : 30);
    return age;
}

}  // namespace

TEST(Subgroups, PerfectlySeparatedGroupsHaveTheDegenerateInterval) {
    const auto spec = parse_subgroup_spec("age:50");
    const std::vector<std::string> groups{"age < 50", "age ≥ 50"};
    const auto age = ages_of_two_groups();
    // Both groups and the whole split perfectly separated: every resample gives 1 per group and a
    // gap of exactly 0.
    const auto perfect = group_intervals({two_groups(false)}, age, spec, groups, {200, 7});
    for (const auto& interval : perfect.groups) {
        EXPECT_DOUBLE_EQ(interval.estimate, 1.0);
        EXPECT_DOUBLE_EQ(interval.low, 1.0);
        EXPECT_DOUBLE_EQ(interval.high, 1.0);
        EXPECT_GT(interval.used, 190);  // a group of 20 with 10 positives almost always keeps both labels
    }
    EXPECT_DOUBLE_EQ(perfect.gap.estimate, 0.0);
    EXPECT_DOUBLE_EQ(perfect.gap.low, 0.0);
    EXPECT_DOUBLE_EQ(perfect.gap.high, 0.0);

    // Old inverted: the young stay [1, 1], the old [0, 0]; on every resample the old are the worst
    // group, so the gap is the whole resample's AUROC minus 0, inside [0, 1].
    const auto inverted = group_intervals({two_groups(true)}, age, spec, groups, {200, 7});
    EXPECT_DOUBLE_EQ(inverted.groups[0].low, 1.0);
    EXPECT_DOUBLE_EQ(inverted.groups[0].high, 1.0);
    EXPECT_DOUBLE_EQ(inverted.groups[1].low, 0.0);
    EXPECT_DOUBLE_EQ(inverted.groups[1].high, 0.0);
    const auto r = two_groups(true);
    const auto overall = macro_auroc(r.scores, r.labels, 1);
    EXPECT_DOUBLE_EQ(inverted.gap.estimate, overall - 0.0);
    EXPECT_GE(inverted.gap.low, 0.0);
    EXPECT_LE(inverted.gap.high, 1.0);
}

TEST(Subgroups, IntervalsContainTheEstimateAndRepeatWithTheSeed) {
    // Two seeds of a noisy scorer on the six-record table's shape, repeated to 60 records.
    ScoredRecords a, b;
    a.classes = b.classes = 2;
    std::vector<double> sex;
    for (int i = 0; i < 60; ++i) {
        const std::string id = "r" + std::to_string(i);
        a.record_ids.push_back(id);
        b.record_ids.push_back(id);
        const int y0 = (i * 7) % 3 == 0, y1 = (i * 5) % 4 == 1;
        const double noise = std::sin(1.7 * i), other = std::cos(2.3 * i);
        for (auto* r : {&a, &b}) r->labels.insert(r->labels.end(), {y0, y1});
        a.scores.insert(a.scores.end(), {y0 + 0.9 * noise, y1 + 0.8 * other});
        b.scores.insert(b.scores.end(), {y0 + 0.7 * other, y1 + 1.1 * noise});
        sex.push_back(i % 5 < 2 ? 0 : 1);
    }
    const auto spec = parse_subgroup_spec("sex");
    const auto groups = group_labels(spec, sex);
    const auto intervals = group_intervals({a, b}, sex, spec, groups, {500, 3});
    // The estimate is the seed mean of each seed's group value (what the table shows).
    const auto va = group_macro_auroc(a, sex, spec, groups), vb = group_macro_auroc(b, sex, spec, groups);
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const auto& i = intervals.groups[g];
        EXPECT_NEAR(i.estimate, (va[g] + vb[g]) / 2, 1e-12);
        EXPECT_LT(i.low, i.estimate);
        EXPECT_GT(i.high, i.estimate);
        EXPECT_LT(i.high - i.low, 0.6);
    }
    const double overall = (macro_auroc(a.scores, a.labels, 2) + macro_auroc(b.scores, b.labels, 2)) / 2;
    EXPECT_NEAR(intervals.gap.estimate, overall - std::min((va[0] + vb[0]) / 2, (va[1] + vb[1]) / 2), 1e-12);
    EXPECT_LE(intervals.gap.low, intervals.gap.estimate);
    EXPECT_GE(intervals.gap.high, intervals.gap.estimate);

    const auto again = group_intervals({a, b}, sex, spec, groups, {500, 3});
    const auto other_seed = group_intervals({a, b}, sex, spec, groups, {500, 4});
    for (std::size_t g = 0; g < groups.size(); ++g) {
        EXPECT_EQ(again.groups[g].low, intervals.groups[g].low);
        EXPECT_EQ(again.groups[g].high, intervals.groups[g].high);
        EXPECT_NE(other_seed.groups[g].low, intervals.groups[g].low);
    }
    EXPECT_EQ(again.gap.low, intervals.gap.low);
    EXPECT_EQ(again.gap.high, intervals.gap.high);

    // Seeds must share one record order, and the covariate must cover it.
    ScoredRecords shuffled = b;
    std::swap(shuffled.record_ids[0], shuffled.record_ids[1]);
    EXPECT_THROW(group_intervals({a, shuffled}, sex, spec, groups, {10, 0}), std::invalid_argument);
    EXPECT_THROW(group_intervals({a}, std::vector<double>(59, 1.0), spec, groups, {10, 0}), std::invalid_argument);
}
