// The `mitbih` dataset plugin on MIT-BIH record 100 from the shared wfdb-python sample data. Beat
// positions and neighbours come from WFDB's rdann text of 100.atr (wfdb-python target-output/ann-1).
#include "ecgbench/dataset.hpp"
#include "ecgbench/wfdb.hpp"
#include "unit/plugins/dataset_test_support.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <unistd.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ecgbench::ParamValue;
using ecgbench::Split;
using namespace test_support;

const fs::path kSampleData = fs::path(ECGBENCH_SHARED_DATA) / "wfdb-python" / "sample-data";

TEST(MitBih, Record100BeatsAamiClassesAndRr) {
    if (!fs::exists(kSampleData / "100.atr")) GTEST_SKIP() << "shared MIT-BIH record 100 absent: " << kSampleData;
    auto ds = make_dataset("mitbih", {{"path", kSampleData.string()}});
    const auto info = ds->info();
    EXPECT_EQ(info.classes, (std::vector<std::string>{"N", "S", "V", "F", "Q"}));
    EXPECT_EQ(info.leads, (std::vector<std::string>{"II", "V1"}));
    EXPECT_EQ(info.samples, 360);

    // Record 100 is in DS2: every beat is a test example; DS1 is absent here.
    EXPECT_EQ(ds->load(Split::Train, {"II"}).size(), 0);
    EXPECT_EQ(ds->load(Split::Val, {"II"}).size(), 0);
    const auto test = ds->load(Split::Test, {"V1", "II"});
    // 100.atr: 2239 N, 33 A, 1 V and one rhythm "+"; the first beat (sample 77) and the last (649991)
    // have no full 360-sample window in 650000 samples.
    ASSERT_EQ(test.size(), 2271);
    const auto per_class = test.labels.sum(0);
    EXPECT_EQ(per_class[0].item<float>(), 2237.0f);
    EXPECT_EQ(per_class[1].item<float>(), 33.0f);
    EXPECT_EQ(per_class[2].item<float>(), 1.0f);
    EXPECT_EQ(per_class[3].item<float>(), 0.0f);
    EXPECT_EQ(per_class[4].item<float>(), 0.0f);
    EXPECT_TRUE(at::equal(test.labels.sum(1), at::ones({2271})));  // one class per beat

    // Record 100 has MLII (→ II) and V5: V1 is absent.
    EXPECT_FALSE(test.lead_present.select(1, 0).any().item<bool>());
    EXPECT_TRUE(test.lead_present.select(1, 1).all().item<bool>());
    EXPECT_EQ(test.signals.select(1, 0).abs().sum().item<float>(), 0.0f);

    // The V beat at 546792: previous beat 546599, next 547199; its window is centred on the R peak.
    const auto v = row_of(test, "100:546792");
    ASSERT_GE(v, 0);
    EXPECT_EQ(test.labels[v][2].item<float>(), 1.0f);
    EXPECT_NEAR(test.covariates.at("rr_prev_ms")[v].item<float>(), 193 * 1000.0 / 360.0, 1e-3);
    EXPECT_NEAR(test.covariates.at("rr_next_ms")[v].item<float>(), 407 * 1000.0 / 360.0, 1e-3);
    EXPECT_EQ(test.covariates.at("rhythm_af")[v].item<float>(), 0.0f);  // "(N" since sample 18
    EXPECT_EQ(test.covariates.at("age")[v].item<float>(), 69.0f);      // "# 69 M ..."
    EXPECT_EQ(test.covariates.at("sex")[v].item<float>(), 1.0f);
    const auto ref = ecgbench::wfdb::read_signals(kSampleData / "100", {546612, 546972, {0}, false});
    for (std::int64_t t : {0, 180, 359}) EXPECT_NEAR(test.signals[v][1][t].item<float>(), ref.physical(0, t), 1e-6);
    // The A beat at 2044 (S): 235 samples after 1809, 358 before 2402.
    const auto a = row_of(test, "100:2044");
    ASSERT_GE(a, 0);
    EXPECT_EQ(test.labels[a][1].item<float>(), 1.0f);
    EXPECT_NEAR(test.covariates.at("rr_prev_ms")[a].item<float>(), 235 * 1000.0 / 360.0, 1e-3);
    EXPECT_NEAR(test.covariates.at("rr_next_ms")[a].item<float>(), 358 * 1000.0 / 360.0, 1e-3);

    // Drops: the 4 paced records, the 43 other records absent from this folder, the 2 edge beats.
    const auto dropped = dropped_by_record(*ds);
    EXPECT_EQ(dropped.size(), 4u + 43u + 2u);
    EXPECT_EQ(dropped.at("102"), "paced record (excluded, de Chazal et al. 2004)");
    EXPECT_EQ(dropped.at("217"), "paced record (excluded, de Chazal et al. 2004)");
    EXPECT_EQ(dropped.at("101"), "absent (no 101.hea in path)");
    EXPECT_EQ(dropped.at("100:77").rfind("beat window outside the record", 0), 0u) << dropped.at("100:77");
    EXPECT_EQ(dropped.count("100:649991"), 1u);
}

TEST(MitBih, WindowLengthAndLeadParams) {
    if (!fs::exists(kSampleData / "100.atr")) GTEST_SKIP() << "shared MIT-BIH record 100 absent: " << kSampleData;
    // 0.5 s = 180 samples: still the first beat (77 < 90) and the last (649991 + 90 > 650000) drop.
    auto ds = make_dataset("mitbih", {{"path", kSampleData.string()}, {"window_s", 0.5}, {"leads", std::vector<std::string>{"II", "V5"}}});
    EXPECT_EQ(ds->info().samples, 180);
    const auto test = ds->load(Split::Test, {"V5"});
    EXPECT_EQ(test.size(), 2271);
    EXPECT_TRUE(test.lead_present.all().item<bool>());
    EXPECT_THROW(make_dataset("mitbih", {{"path", kSampleData.string()}, {"leads", std::vector<std::string>{"MLII"}}}),
                 std::invalid_argument);
    EXPECT_THROW(ds->load(Split::Test, {"V1"}), std::invalid_argument);
}


// `test_records` moves DS1 records to test (a DS1-only copy such as ../shared/data/mitdb has no DS2).
TEST(MitBih, TestRecordsMoveDs1RecordsToTest) {
    const fs::path mitdb = fs::path(ECGBENCH_SHARED_DATA) / "mitdb";
    if (!fs::exists(mitdb / "106.atr")) GTEST_SKIP() << "shared MIT-BIH DS1 records absent: " << mitdb;
    const fs::path dir = fs::temp_directory_path() / ("mitbih_test_records_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    for (const char* record : {"101", "106"})
        for (const char* ext : {".hea", ".dat", ".atr"}) fs::create_symlink(mitdb / (std::string(record) + ext), dir / (std::string(record) + ext));
    const std::map<std::string, ParamValue> base{{"path", dir.string()}, {"val_fraction", 0.0}, {"leads", std::vector<std::string>{"II"}}};
    auto moved_params = base;
    moved_params["test_records"] = std::vector<std::string>{"106"};
    auto ds = make_dataset("mitbih", moved_params);
    const auto train = ds->load(Split::Train, {"II"}), test = ds->load(Split::Test, {"II"});
    ASSERT_GT(train.size(), 1000);
    ASSERT_GT(test.size(), 1000);
    for (const auto& id : train.record_ids) ASSERT_EQ(id.rfind("101:", 0), 0u) << id;
    for (const auto& id : test.record_ids) ASSERT_EQ(id.rfind("106:", 0), 0u) << id;
    EXPECT_NE(ds->info().split_rule.find("moved to test: 106"), std::string::npos);
    EXPECT_EQ(make_dataset("mitbih", base)->load(Split::Test, {"II"}).size(), 0);  // de Chazal: both are DS1
    auto bad = base;
    bad["test_records"] = std::vector<std::string>{"102"};  // paced: not in DS1/DS2
    try {
        make_dataset("mitbih", bad);
        ADD_FAILURE() << "a paced record in test_records was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("test_records"), std::string::npos) << e.what();
    }
    fs::remove_all(dir);
}

}  // namespace
