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
