// The `af_holter` dataset plugin on the 4 shared CPSC 2021 records. AF episodes from their `.atr`
// rhythm annotations (WFDB 10.7.0 rdann text in reference-wfdb-10.7.0/cpsc2021/):
//   data_101_6 (22355 samples): (AFIB 3132, (N 5639, (AFIB 8468, (N 9100, (AFIB 11121, (N 16050,
//              (AFIB 21303, (N 22355
//   data_8_4   (8235):  (AFIB 0, (N 8234
//   data_92_12 (9779):  (AFIB 2803, (N 6487
//   data_21_7  (47201): no rhythm annotation (non-AF record)
#include "ecgbench/dataset.hpp"
#include "ecgbench/wfdb.hpp"
#include "unit/plugins/dataset_test_support.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ecgbench::ParamValue;
using ecgbench::Split;
using namespace test_support;

const fs::path kCpsc = fs::path(ECGBENCH_SHARED_DATA) / "torch_ecg" / "cpsc2021";

TEST(AfHolter, Cpsc2021WindowsAndAfFractions) {
    if (!fs::exists(kCpsc / "data_101_6.atr")) GTEST_SKIP() << "shared CPSC 2021 records absent: " << kCpsc;
    auto ds = make_dataset("af_holter", {{"path", kCpsc.string()}, {"subject_separator", std::string("_")},
                                         {"val_fraction", 0.25}, {"test_fraction", 0.25}});
    const auto info = ds->info();
    EXPECT_EQ(info.leads, (std::vector<std::string>{"I", "II"}));
    EXPECT_EQ(info.samples, 2000);
    EXPECT_EQ(info.classes, std::vector<std::string>{"AF"});

    std::map<std::string, float> fraction, label;
    std::map<std::string, Split> split_of_subject;
    std::map<Split, ecgbench::EcgSplit> splits;
    for (Split split : {Split::Train, Split::Val, Split::Test}) {
        auto s = ds->load(split, {"II", "I"});
        for (std::int64_t i = 0; i < s.size(); ++i) {
            const auto& id = s.record_ids[static_cast<std::size_t>(i)];
            fraction[id] = s.covariates.at("af_fraction")[i].item<float>();
            label[id] = s.labels[i][0].item<float>();
            const std::string subject = id.substr(0, id.rfind('_'));
            const auto [it, inserted] = split_of_subject.emplace(subject, split);
            EXPECT_EQ(it->second, split) << subject << " in two splits";
        }
        splits[split] = std::move(s);
    }
    // Whole 2000-sample windows: 11 + 23 + 4 + 4.
    EXPECT_EQ(fraction.size(), 42u);
    EXPECT_EQ(split_of_subject.size(), 4u);  // data_101, data_21, data_8, data_92
    const std::map<std::string, float> expected{
        {"data_101_6:0", 0.0f},         {"data_101_6:2000", 0.434f},  // 3132..4000
        {"data_101_6:4000", 0.8195f},   // ..5639
        {"data_101_6:6000", 0.0f},      {"data_101_6:8000", 0.316f},   // 8468..9100
        {"data_101_6:10000", 0.4395f},  // 11121..
        {"data_101_6:12000", 1.0f},     {"data_101_6:14000", 1.0f},
        {"data_101_6:16000", 0.025f},   // ..16050
        {"data_101_6:18000", 0.0f},     {"data_101_6:20000", 0.3485f},  // 21303..
        {"data_8_4:0", 1.0f},           {"data_8_4:6000", 1.0f},
        {"data_92_12:0", 0.0f},         {"data_92_12:2000", 0.5985f},  // 2803..
        {"data_92_12:4000", 1.0f},      {"data_92_12:6000", 0.2435f},  // ..6487
        {"data_21_7:44000", 0.0f},
    };
    for (const auto& [id, f] : expected) {
        ASSERT_TRUE(fraction.count(id)) << id;
        EXPECT_NEAR(fraction.at(id), f, 1e-6) << id;
        EXPECT_EQ(label.at(id), f >= 0.5f ? 1.0f : 0.0f) << id;
    }
    float af_windows = 0;
    for (const auto& [id, l] : label) af_windows += l;
    EXPECT_EQ(af_windows, 9.0f);  // 3 + 4 + 2
    EXPECT_TRUE(ds->dropped_records().empty());

    // A window's samples are the record's samples from its start on (lead II = signal 1).
    for (const auto& [split, s] : splits) {
        const auto i = row_of(s, "data_101_6:4000");
        if (i < 0) continue;
        const auto ref = ecgbench::wfdb::read_signals(kCpsc / "data_101_6", {4000, 6000, {1, 0}, false});
        for (std::int64_t t : {0, 999, 1999}) {
            EXPECT_NEAR(s.signals[i][0][t].item<float>(), ref.physical(0, t), 1e-5);
            EXPECT_NEAR(s.signals[i][1][t].item<float>(), ref.physical(1, t), 1e-5);
        }
        EXPECT_FLOAT_EQ(s.covariates.at("start_s")[i].item<float>(), 20.0f);
    }
}

TEST(AfHolter, StrideAliasesAndDrops) {
    if (!fs::exists(kCpsc / "data_101_6.atr")) GTEST_SKIP() << "shared CPSC 2021 records absent: " << kCpsc;
    TempDir dir("af_holter");
    for (const char* ext : {".hea", ".dat", ".atr"}) fs::create_symlink(kCpsc / (std::string("data_92_12") + ext), dir.path / (std::string("data_92_12") + ext));
    // A header whose signals are called ECG1/ECG2 (as in AFDB), over data_8_4's samples.
    {
        std::ifstream in(kCpsc / "data_8_4.hea");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{{" I\n", " ECG1\n"}, {" II\n", " ECG2\n"}})
            text.replace(text.find(from), from.size(), to);
        std::ofstream(dir.path / "data_8_4.hea") << text;
        fs::create_symlink(kCpsc / "data_8_4.dat", dir.path / "data_8_4.dat");
        fs::create_symlink(kCpsc / "data_8_4.atr", dir.path / "data_8_4.atr");
    }
    // 20 s windows every 5 s: data_92_12 (9779 samples) has starts 0, 1000, ..., 5000.
    auto ds = make_dataset("af_holter", {{"path", dir.path.string()}, {"window_s", 20.0}, {"stride_s", 5.0},
                                         {"val_fraction", 0.0}, {"test_fraction", 0.0}});
    const auto dropped = dropped_by_record(*ds);
    ASSERT_EQ(dropped.size(), 1u);
    // The reason names the signals seen and the lead_alias that would map them.
    EXPECT_EQ(dropped.at("data_8_4"), "no standard ECG lead: signals 'ECG1', 'ECG2' are not standard lead names; map "
                                      "them with lead_alias = [\"ECG1=<lead>\", \"ECG2=<lead>\"]");
    const auto train = ds->load(Split::Train, {"I"});
    EXPECT_EQ(train.size(), 6);
    // [3000, 7000): AF 3000..6487 → 3487 / 4000.
    const auto i = row_of(train, "data_92_12:3000");
    ASSERT_GE(i, 0);
    EXPECT_NEAR(train.covariates.at("af_fraction")[i].item<float>(), 3487.0f / 4000.0f, 1e-6);

    auto aliased = make_dataset("af_holter", {{"path", dir.path.string()}, {"window_s", 20.0}, {"stride_s", 5.0},
                                              {"lead_aliases", std::vector<std::string>{"ECG1=I", "ECG2=II"}},
                                              {"val_fraction", 0.0}, {"test_fraction", 0.0}});
    EXPECT_TRUE(aliased->dropped_records().empty());
    EXPECT_EQ(aliased->load(Split::Train, {"II"}).size(), 6 + 5);  // data_8_4: 8235 samples → starts 0 … 4000
    EXPECT_THROW(make_dataset("af_holter", {{"path", dir.path.string()}, {"lead_aliases", std::vector<std::string>{"ECG1"}}}),
                 std::invalid_argument);
    // The shared `lead_alias` param (lead_aliases is its older name here) gives the same windows.
    auto shared = make_dataset("af_holter", {{"path", dir.path.string()}, {"window_s", 20.0}, {"stride_s", 5.0},
                                             {"lead_alias", std::vector<std::string>{"ECG1=I", "ECG2=II"}},
                                             {"val_fraction", 0.0}, {"test_fraction", 0.0}});
    EXPECT_TRUE(shared->dropped_records().empty());
    EXPECT_TRUE(at::equal(shared->load(Split::Train, {"II", "I"}).signals, aliased->load(Split::Train, {"II", "I"}).signals));
    EXPECT_NE(shared->info().fingerprint, aliased->info().fingerprint);  // other params, other instance
    // Both signals on lead I: ambiguous, the record is dropped with the signals named.
    auto ambiguous = make_dataset("af_holter", {{"path", dir.path.string()}, {"window_s", 20.0}, {"stride_s", 5.0},
                                                {"lead_alias", std::vector<std::string>{"ECG1=I"}},
                                                {"lead_aliases", std::vector<std::string>{"ECG2=I"}},
                                                {"val_fraction", 0.0}, {"test_fraction", 0.0}});
    EXPECT_EQ(dropped_by_record(*ambiguous).at("data_8_4"),
              "ambiguous lead mapping: signals 'ECG1' and 'ECG2' both map to lead I (lead_alias / default_lead)");
    // One signal, two leads across the two lists: an error naming it.
    EXPECT_THROW(make_dataset("af_holter", {{"path", dir.path.string()}, {"lead_alias", std::vector<std::string>{"ECG1=I"}},
                                            {"lead_aliases", std::vector<std::string>{"ECG1=II"}}}),
                 std::invalid_argument);
    // Nothing at 250 Hz: a runtime error saying why.
    EXPECT_THROW(make_dataset("af_holter", {{"path", dir.path.string()}, {"sampling_rate", 250.0}}), std::runtime_error);
}

}  // namespace
