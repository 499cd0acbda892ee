// The `wfdb_folder` dataset plugin, loaded through the registry, on a folder of records written
// with ecgbench::wfdb::write_record (and, when present, on the shared LUDB records).
#include "ecgbench/dataset.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/wfdb.hpp"
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"
#include "unit/plugins/stream_check.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
namespace wfdb = ecgbench::wfdb;
using ecgbench::ParamValue;
using ecgbench::Split;
using test_support::registry;

std::unique_ptr<ecgbench::Dataset> make(std::map<std::string, ParamValue> given) {
    const auto& plugin = registry().require("wfdb_folder", ecgbench::PluginKind::Dataset);
    return registry().make_dataset("wfdb_folder", ecgbench::validate_params(plugin.manifest().params, given));
}

constexpr double kGain = 200.0;
constexpr std::int32_t kBaseline = 10;

/// Deterministic digital sample of record r, signal s, frame t.
std::int32_t digital(int r, int s, std::int64_t t) {
    return static_cast<std::int32_t>(((r * 131 + s * 37 + t * 7) % 901) - 450);
}

/// Writes `record` (path without extension) with the given lead descriptions.
void write(const fs::path& record, int r, const std::vector<std::string>& leads, double fs, std::int64_t n,
           const std::string& units = "mV", bool invalid = false) {
    wfdb::Header h;
    h.nsig = static_cast<int>(leads.size());
    h.fs = fs;
    h.fs_given = true;
    h.nsamp = n;
    std::vector<std::vector<std::int32_t>> samples;
    for (std::size_t s = 0; s < leads.size(); ++s) {
        wfdb::SignalInfo sig;
        sig.format = 16;
        sig.gain = kGain;
        sig.gain_given = true;
        sig.baseline = kBaseline;
        sig.units = units;
        sig.adc_resolution = 16;
        sig.description = leads[s];
        h.signals.push_back(sig);
        std::vector<std::int32_t> column;
        for (std::int64_t t = 0; t < n; ++t) column.push_back(digital(r, static_cast<int>(s), t));
        if (invalid) column[5] = wfdb::kInvalidSample;
        samples.push_back(std::move(column));
    }
    fs::create_directories(record.parent_path());
    wfdb::write_record(record, h, samples, 16);
}

/// 12 records r00..r11 (r10, r11 in sub/), 6 subjects of 2 records; 500 Hz, 2.4 s.
/// r03 lacks V1, r04 is too short, r05 is at 250 Hz, r06 has an invalid sample, r07 is in µV.
struct Folder {
    fs::path root;
    Folder() {
        root = fs::temp_directory_path() / ("ecgbench_wfdb_folder_" + std::to_string(::getpid()));
        fs::remove_all(root);
        std::ofstream csv(root.parent_path() / (root.filename().string() + ".csv"));
        csv << "record,subject,AF,MI\n";
        for (int r = 0; r < 12; ++r) {
            const std::string name = (r >= 10 ? "sub/r" : "r0") + std::to_string(r);
            const std::vector<std::string> leads =
                r == 3 ? std::vector<std::string>{"I", "MLII"} : std::vector<std::string>{"I", "MLII", "V1"};
            write(root / name, r, leads, r == 5 ? 250.0 : 500.0, r == 4 ? 800 : 1200, r == 7 ? "uV" : "mV", r == 6);
            csv << name << ",s" << r / 2 << "," << (r % 3 == 0 ? 1 : 0) << "," << (r % 2) << "\n";
        }
    }
    ~Folder() {
        fs::remove_all(root);
        fs::remove(csv());
    }
    fs::path csv() const { return root.parent_path() / (root.filename().string() + ".csv"); }
    std::map<std::string, ParamValue> params() const {
        return {{"path", root.string()},
                {"labels_csv", csv().string()},
                {"label_columns", std::vector<std::string>{"AF", "MI"}},
                {"duration_s", 2.0},
                {"sampling_rate", 500.0},
                {"resample", false},  // r05 (250 Hz) is dropped; ResamplesRecordsAtOtherRates keeps it
                {"val_fraction", 0.2},
                {"test_fraction", 0.2}};
    }
};

std::int64_t row_of(const ecgbench::EcgSplit& s, const std::string& id) {
    for (std::size_t i = 0; i < s.record_ids.size(); ++i)
        if (s.record_ids[i] == id) return static_cast<std::int64_t>(i);
    return -1;
}

TEST(WfdbFolder, LoadsSplitsLeadsAndDrops) {
    Folder folder;
    auto ds = make(folder.params());
    const auto info = ds->info();
    EXPECT_EQ(info.name, "wfdb_folder");
    EXPECT_EQ(info.leads, (std::vector<std::string>{"I", "II", "V1"}));
    EXPECT_EQ(info.classes, (std::vector<std::string>{"AF", "MI"}));
    EXPECT_EQ(info.samples, 1000);
    EXPECT_DOUBLE_EQ(info.sampling_rate_hz, 500.0);
    EXPECT_EQ(info.fingerprint.size(), 16u);
    EXPECT_NE(info.preprocessing.find("1 too short"), std::string::npos) << info.preprocessing;
    EXPECT_NE(info.preprocessing.find("1 sampling rate"), std::string::npos) << info.preprocessing;

    const std::vector<std::string> leads{"V1", "I", "II"};
    std::set<std::string> ids;
    std::map<std::int64_t, int> split_of_subject;
    std::int64_t total = 0;
    std::map<std::string, ecgbench::EcgSplit> loaded;
    for (Split split : {Split::Train, Split::Val, Split::Test}) {
        auto s = ds->load(split, leads);
        ASSERT_EQ(s.signals.sizes(), (at::IntArrayRef{s.size(), 3, 1000}));
        ASSERT_EQ(s.lead_present.sizes(), (at::IntArrayRef{s.size(), 3}));
        ASSERT_EQ(s.labels.sizes(), (at::IntArrayRef{s.size(), 2}));
        ASSERT_EQ(s.subjects.size(0), s.size());
        ASSERT_EQ(s.record_ids.size(), static_cast<std::size_t>(s.size()));
        EXPECT_GT(s.size(), 0) << ecgbench::to_string(split);
        total += s.size();
        for (std::int64_t i = 0; i < s.size(); ++i) {
            const std::int64_t subject = s.subjects[i].item<std::int64_t>();
            const auto [it, inserted] = split_of_subject.emplace(subject, static_cast<int>(split));
            EXPECT_EQ(it->second, static_cast<int>(split)) << "subject " << subject << " in two splits";
        }
        for (const auto& id : s.record_ids) ids.insert(id);
        loaded[ecgbench::to_string(split)] = s;
    }
    EXPECT_EQ(total, 9);  // 12 written - too short - 250 Hz - invalid samples
    EXPECT_EQ(ids, (std::set<std::string>{"r00", "r01", "r02", "r03", "r07", "r08", "r09", "sub/r10", "sub/r11"}));

    const auto after = ds->info();
    EXPECT_NE(after.preprocessing.find("dropped 3 records"), std::string::npos) << after.preprocessing;
    EXPECT_NE(after.preprocessing.find("1 invalid samples"), std::string::npos) << after.preprocessing;
    EXPECT_NE(after.preprocessing.find("first 2 s at 500 Hz, mV"), std::string::npos) << after.preprocessing;
    EXPECT_EQ(after.fingerprint, info.fingerprint);
    // The same drops, record by record, for the runner to store.
    std::map<std::string, std::string> dropped;
    for (const auto& d : ds->dropped_records()) dropped[d.record] = d.reason;
    ASSERT_EQ(dropped.size(), 3u);
    EXPECT_EQ(dropped["r04"].rfind("too short", 0), 0u) << dropped["r04"];
    EXPECT_EQ(dropped["r05"].rfind("sampling rate 250 Hz", 0), 0u) << dropped["r05"];
    EXPECT_EQ(dropped["r06"].rfind("invalid samples", 0), 0u) << dropped["r06"];

    bool seen_r00 = false, seen_r03 = false, seen_r07 = false;
    for (const auto& [name, s] : loaded) {
        if (const auto i = row_of(s, "r00"); i >= 0) {
            seen_r00 = true;
            // Column 1 is I (signal 0), column 2 is II (MLII, signal 1), column 0 is V1 (signal 2).
            for (std::int64_t t : {0, 1, 5, 999}) {
                EXPECT_NEAR(s.signals[i][1][t].item<float>(), (digital(0, 0, t) - kBaseline) / kGain, 1e-6);
                EXPECT_NEAR(s.signals[i][2][t].item<float>(), (digital(0, 1, t) - kBaseline) / kGain, 1e-6);
                EXPECT_NEAR(s.signals[i][0][t].item<float>(), (digital(0, 2, t) - kBaseline) / kGain, 1e-6);
            }
            EXPECT_TRUE(s.lead_present[i].all().item<bool>());
            EXPECT_FLOAT_EQ(s.labels[i][0].item<float>(), 1.0f);  // r00: AF (0 % 3 == 0), not MI
            EXPECT_FLOAT_EQ(s.labels[i][1].item<float>(), 0.0f);
        }
        if (const auto i = row_of(s, "r03"); i >= 0) {
            seen_r03 = true;
            EXPECT_FALSE(s.lead_present[i][0].item<bool>());
            EXPECT_TRUE(s.lead_present[i][1].item<bool>());
            EXPECT_TRUE(s.lead_present[i][2].item<bool>());
            EXPECT_EQ(s.signals[i][0].abs().sum().item<float>(), 0.0f);
            EXPECT_NEAR(s.signals[i][2][7].item<float>(), (digital(3, 1, 7) - kBaseline) / kGain, 1e-6);
        }
        if (const auto i = row_of(s, "r07"); i >= 0) {
            seen_r07 = true;  // written in uV: same digital values, physical / 1000 in mV
            EXPECT_NEAR(s.signals[i][1][3].item<float>(), (digital(7, 0, 3) - kBaseline) / kGain / 1000.0, 1e-9);
        }
    }
    EXPECT_TRUE(seen_r00 && seen_r03 && seen_r07);

    // Unknown lead (not in this folder at all) names it.
    try {
        ds->load(Split::Train, {"I", "aVR"});
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("aVR"), std::string::npos) << e.what();
    }
}

TEST(WfdbFolder, SplitsAreStableAndSeeded) {
    Folder folder;
    auto a = make(folder.params());
    auto b = make(folder.params());
    EXPECT_EQ(a->info().fingerprint, b->info().fingerprint);
    EXPECT_EQ(a->load(Split::Test, {"I"}).record_ids, b->load(Split::Test, {"I"}).record_ids);

    // Without a CSV each record is its own subject and all records are used, unlabelled.
    auto unlabeled = make({{"path", folder.root.string()}, {"duration_s", 2.0}, {"sampling_rate", 500.0}});
    EXPECT_TRUE(unlabeled->info().classes.empty());
    std::int64_t total = 0;
    for (Split split : {Split::Train, Split::Val, Split::Test}) {
        const auto s = unlabeled->load(split, {"II"});
        EXPECT_EQ(s.labels.size(1), 0);
        total += s.size();
    }
    EXPECT_EQ(total, 10);  // 12 - too short - invalid samples; r05 (250 Hz) is resampled by default
}

// `test_folders`: the records (and subjects) under a subfolder are the test split, the rest is cut
// into train/val; a linked record keeps the name of its link.
TEST(WfdbFolder, TestFoldersMakeTheTestSplitAndLinksKeepTheirNames) {
    Folder folder;
    auto params = folder.params();
    params["test_folders"] = std::vector<std::string>{"sub/"};
    auto ds = make(params);
    const auto test = ds->load(Split::Test, {"I"});
    EXPECT_EQ(std::set<std::string>(test.record_ids.begin(), test.record_ids.end()), (std::set<std::string>{"sub/r10", "sub/r11"}));
    for (Split split : {Split::Train, Split::Val})
        for (const auto& id : ds->load(split, {"I"}).record_ids) EXPECT_NE(id.rfind("sub/", 0), 0u) << id;
    EXPECT_NE(ds->info().split_rule.find("sub/"), std::string::npos);
    params["test_folders"] = std::vector<std::string>{"nowhere"};
    try {
        make(params);
        ADD_FAILURE() << "a test folder without records was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("test_folders"), std::string::npos) << e.what();
    }

    // Links to another folder's files: named by the link, not by where it points.
    const fs::path linked = folder.root.parent_path() / (folder.root.filename().string() + "_links");
    fs::create_directories(linked / "other");
    for (const char* ext : {".hea", ".dat"}) fs::create_symlink(folder.root / ("r00" + std::string(ext)), linked / "other" / ("r00" + std::string(ext)));
    auto links = make({{"path", linked.string()}, {"duration_s", 2.0}, {"sampling_rate", 500.0}, {"test_folders", std::vector<std::string>{"other"}}});
    EXPECT_EQ(links->load(Split::Test, {"I"}).record_ids, std::vector<std::string>{"other/r00"});
    fs::remove_all(linked);
}

TEST(WfdbFolder, FingerprintTracksHeadersAndParams) {
    Folder folder;
    const std::string before = make(folder.params())->info().fingerprint;
    auto params = folder.params();
    params["seed"] = std::int64_t{3};
    EXPECT_NE(make(params)->info().fingerprint, before);
    {
        std::ofstream hea(folder.root / "r01.hea", std::ios::app);
        hea << "# edited\n";
    }
    EXPECT_NE(make(folder.params())->info().fingerprint, before);
}

TEST(WfdbFolder, ParameterErrorsAreClear) {
    Folder folder;
    try {
        make({{"sampling_rate", 500.0}});
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("`path` is required"), std::string::npos) << e.what();
    }
    EXPECT_THROW(make({{"path", folder.root.string()}}), std::invalid_argument);  // sampling_rate missing
    EXPECT_THROW(make({{"path", (folder.root / "nope").string()}, {"sampling_rate", 500.0}}), std::invalid_argument);
    auto params = folder.params();
    params["label_columns"] = std::vector<std::string>{"AF", "HYP"};
    try {
        make(params);
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("HYP"), std::string::npos) << e.what();
    }
    // Nothing at 360 Hz: a runtime error saying why.
    auto wrong_rate = folder.params();
    wrong_rate["sampling_rate"] = 360.0;
    EXPECT_THROW(make(wrong_rate), std::runtime_error);
}

TEST(WfdbFolder, SharedLudbRecordsMapToTwelveLeads) {
    const fs::path ludb = fs::path(ECGBENCH_SHARED_DATA) / "ludb" / "data";
    if (std::string(ECGBENCH_SHARED_DATA).empty() || !fs::exists(ludb / "1.hea")) {
        GTEST_SKIP() << "shared LUDB data absent (ECGBENCH_SHARED_DATA='" ECGBENCH_SHARED_DATA "')";
    }
    auto ds = make({{"path", ludb.string()}, {"sampling_rate", 500.0}, {"duration_s", 10.0},
                    {"val_fraction", 0.0}, {"test_fraction", 0.0}});
    const auto info = ds->info();
    EXPECT_EQ(info.leads, ecgbench::standard_12_leads());
    const auto train = ds->load(Split::Train, ecgbench::standard_12_leads());
    ASSERT_GT(train.size(), 0);
    EXPECT_EQ(train.signals.size(2), 5000);
    EXPECT_TRUE(train.lead_present.all().item<bool>());
    EXPECT_TRUE(at::isfinite(train.signals).all().item<bool>());
    // Physical values: |signal| within a few mV.
    EXPECT_LT(train.signals.abs().max().item<float>(), 20.0f);
    const auto i = row_of(train, "1");
    ASSERT_GE(i, 0);
    const auto ref = wfdb::read_signals(ludb / "1", {0, 5000, {1}, false});  // lead "ii"
    EXPECT_NEAR(train.signals[i][1][100].item<float>(), ref.physical(0, 100), 1e-6);
}

}  // namespace

TEST(WfdbFolder, StreamingGivesTheRecordsLoadGives) {
    Folder folder;
    auto ds = make(folder.params());
    for (Split split : {Split::Train, Split::Val, Split::Test})
        for (std::int64_t chunk : {1, 2, 100}) test_support::expect_stream_matches_load(*ds, split, {"II", "V1"}, chunk);
    // Reading splits again (other leads, chunks) lists each dropped record once.
    EXPECT_EQ(ds->dropped_records().size(), 3u);
}

TEST(WfdbFolder, ResamplesRecordsAtOtherRates) {
    // A 3 Hz sine of 1 mV recorded at 250, 500 and 1000 Hz, served at 500 Hz: all three give the
    // sine sampled at 500 Hz (up to quantisation and the filter's start-up transient).
    struct Dir {
        fs::path path = fs::temp_directory_path() / ("ecgbench_wfdb_resample_" + std::to_string(::getpid()));
        ~Dir() { fs::remove_all(path); }
    } dir;
    fs::create_directories(dir.path);
    namespace wfdb = ecgbench::wfdb;
    constexpr double kHz = 3.0;
    for (const double fs : {250.0, 500.0, 1000.0}) {
        wfdb::Header h;
        h.nsig = 1;
        h.fs = fs;
        h.fs_given = true;
        h.nsamp = static_cast<std::int64_t>(3 * fs);  // 3 s; 2 s are served
        wfdb::SignalInfo sig;
        sig.format = 16;
        sig.gain = 1000.0;
        sig.gain_given = true;
        sig.units = "mV";
        sig.adc_resolution = 16;
        sig.description = "II";
        h.signals.push_back(sig);
        std::vector<std::int32_t> column;
        for (std::int64_t t = 0; t < *h.nsamp; ++t)
            column.push_back(static_cast<std::int32_t>(std::lround(1000.0 * std::sin(2 * M_PI * kHz * static_cast<double>(t) / fs))));
        wfdb::write_record(dir.path / ("at" + std::to_string(static_cast<int>(fs))), h, {column}, 16);
    }
    std::map<std::string, ParamValue> params{{"path", dir.path.string()}, {"duration_s", 2.0}, {"sampling_rate", 500.0},
                                             {"val_fraction", 0.0}, {"test_fraction", 0.0}};
    auto ds = make(params);
    EXPECT_NE(ds->info().preprocessing.find("other rates resampled"), std::string::npos) << ds->info().preprocessing;
    const auto train = ds->load(Split::Train, {"II"});
    ASSERT_EQ(train.size(), 3);
    EXPECT_TRUE(ds->dropped_records().empty());
    for (std::int64_t i = 0; i < 3; ++i) {
        double worst = 0;
        for (std::int64_t t = 40; t < 1000; ++t) {  // past the transient, up to the last sample
            const double expected = std::sin(2 * M_PI * kHz * static_cast<double>(t) / 500.0);
            worst = std::max(worst, std::abs(train.signals[i][0][t].item<float>() - expected));
        }
        EXPECT_LT(worst, 0.005) << train.record_ids[static_cast<std::size_t>(i)];
    }
    // Without resampling, only the 500 Hz record is served.
    params["resample"] = false;
    auto strict = make(params);
    EXPECT_EQ(strict->load(Split::Train, {"II"}).record_ids, std::vector<std::string>{"at500"});
    EXPECT_EQ(strict->dropped_records().size(), 2u);
}
