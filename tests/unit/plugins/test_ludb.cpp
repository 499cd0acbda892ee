// The `ludb` dataset plugin on the shared LUDB records 1 and 8. Expected intervals were worked out
// by hand from WFDB 10.7.0's rdann text of lead II (reference-wfdb-10.7.0/<n>.rdann-ii.txt).
#include "ecgbench/dataset.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/wfdb.hpp"
#include "unit/plugins/dataset_test_support.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ecgbench::ParamValue;
using ecgbench::Split;
using namespace test_support;

const fs::path kLudb = fs::path(ECGBENCH_SHARED_DATA) / "ludb";

float cov(const ecgbench::EcgSplit& s, const std::string& name, std::int64_t i) { return s.covariates.at(name)[i].item<float>(); }

TEST(Ludb, IntervalsFromLeadTwoDelineationAndRhythmLabels) {
    if (!fs::exists(kLudb / "data" / "1.ii")) GTEST_SKIP() << "shared LUDB data absent: " << kLudb;
    auto ds = make_dataset("ludb", {{"path", kLudb.string()}, {"val_fraction", 0.0}, {"test_fraction", 0.0}});
    const auto info = ds->info();
    EXPECT_EQ(info.classes, (std::vector<std::string>{"Aberrant conduction", "Atrial fibrillation", "Atrial flutter, typical",
                                                      "Irregular sinus rhythm", "Sinus arrhythmia", "Sinus bradycardia",
                                                      "Sinus rhythm", "Sinus tachycardia", "Wandering atrial pacemaker"}));
    EXPECT_EQ(info.samples, 5000);
    const auto train = ds->load(Split::Train, ecgbench::standard_12_leads());
    ASSERT_EQ(train.record_ids, (std::vector<std::string>{"1", "8"}));
    EXPECT_TRUE(ds->dropped_records().empty());

    // Record 1 (sinus bradycardia), lead II: QRS (onset, offset) 644-682, 1324-1374, 1979-2028, 2624-2668,
    // 3286-3347, 3950-3996 → durations 38 50 49 44 61 46 samples, median 47.5 = 95 ms. P onsets 1250,
    // 1911, 2546, 3223, 3879 → PR 74 68 78 63 71, median 71 = 142 ms. T offsets 878 1572 2224 2871 3539
    // (none after the last QRS) → QT 234 248 245 247 253, median 247 = 494 ms. R peaks 662 1342 2000
    // 2642 3314 3969 → RR median 658 samples = 1316 ms → 45.593 bpm.
    EXPECT_FLOAT_EQ(cov(train, "qrs_ms", 0), 95.0f);
    EXPECT_FLOAT_EQ(cov(train, "pr_ms", 0), 142.0f);
    EXPECT_FLOAT_EQ(cov(train, "qt_ms", 0), 494.0f);
    EXPECT_NEAR(cov(train, "hr_bpm", 0), 60000.0 / 1316.0, 1e-4);
    EXPECT_FLOAT_EQ(cov(train, "age", 0), 51.0f);
    EXPECT_FLOAT_EQ(cov(train, "sex", 0), 0.0f);  // F
    // Record 8 (atrial fibrillation): no P waves → PR NaN; QRS median of 42 46 47 51 57 57 64 65 65 69
    // = 57 samples = 114 ms; QT median 186 samples = 372 ms; RR median 422 samples = 844 ms.
    EXPECT_TRUE(std::isnan(cov(train, "pr_ms", 1)));
    EXPECT_FLOAT_EQ(cov(train, "qrs_ms", 1), 114.0f);
    EXPECT_FLOAT_EQ(cov(train, "qt_ms", 1), 372.0f);
    EXPECT_NEAR(cov(train, "hr_bpm", 1), 60000.0 / 844.0, 1e-4);
    EXPECT_FLOAT_EQ(cov(train, "age", 1), 57.0f);

    EXPECT_TRUE(at::equal(train.labels[0], at::tensor({0.f, 0.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f})));
    EXPECT_TRUE(at::equal(train.labels[1], at::tensor({0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f})));

    // Lower-case lead names map to the canonical ones; values as the WFDB reader gives them.
    EXPECT_TRUE(train.lead_present.all().item<bool>());
    const auto ref = ecgbench::wfdb::read_signals(kLudb / "data" / "8", {0, 5000, {3}, false});  // "avr"
    EXPECT_NEAR(train.signals[1][3][1234].item<float>(), ref.physical(0, 1234), 1e-6);
}

TEST(Ludb, MissingDelineationIsDroppedAndLabelsOptional) {
    if (!fs::exists(kLudb / "data" / "1.ii")) GTEST_SKIP() << "shared LUDB data absent: " << kLudb;
    TempDir dir("ludb");
    fs::create_directories(dir.path / "data");
    fs::create_symlink(kLudb / "ludb.csv", dir.path / "ludb.csv");
    for (const auto& entry : fs::directory_iterator(kLudb / "data")) {
        if (entry.path().filename() == "8.ii") continue;
        fs::create_symlink(entry.path(), dir.path / "data" / entry.path().filename());
    }
    auto ds = make_dataset("ludb", {{"path", dir.path.string()}, {"val_fraction", 0.0}, {"test_fraction", 0.0}});
    const auto dropped = dropped_by_record(*ds);
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_EQ(dropped.at("8").rfind("unreadable delineation (ii): ", 0), 0u) << dropped.at("8");
    EXPECT_EQ(ds->load(Split::Train, {"II"}).record_ids, std::vector<std::string>{"1"});

    // Another lead's delineation keeps record 8; label_set none needs no CSV and gives no classes.
    auto v1 = make_dataset("ludb", {{"path", dir.path.string()}, {"delineation_lead", std::string("v1")},
                                    {"label_set", std::string("none")}, {"val_fraction", 0.0}, {"test_fraction", 0.0}});
    EXPECT_TRUE(v1->info().classes.empty());
    const auto train = v1->load(Split::Train, {"V1"});
    EXPECT_EQ(train.record_ids, (std::vector<std::string>{"1", "8"}));
    EXPECT_EQ(train.labels.size(1), 0);
    EXPECT_NE(v1->info().fingerprint, ds->info().fingerprint);
    EXPECT_THROW(make_dataset("ludb", {{"path", dir.path.string()}, {"delineation_lead", std::string("II")}}),
                 std::invalid_argument);  // the annotation file names are lower case
}

}  // namespace
