// The lead mapping every WFDB-based dataset plugin shares (`lead_alias`, `default_lead`:
// plugins/datasets/common/leads_io.hpp), through `wfdb_folder`: on the 150 PhysioNet/CinC Challenge
// 2017 records in shared/data/cinc2017 (AliveCor single lead, 300 Hz, MATLAB v4 `.mat`, CRLF
// headers whose only signal is described `ECG`, labels in a REFERENCE.csv of `record,CLASS` rows),
// and on small written records for names other corpora use and for ambiguous mappings.
#include "ecgbench/dataset.hpp"
#include "ecgbench/wfdb.hpp"
#include "unit/plugins/dataset_test_support.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ecgbench::ParamValue;
using ecgbench::Split;
using namespace test_support;

const fs::path kCinc2017 = fs::path(ECGBENCH_SHARED_DATA) / "cinc2017";

bool have_cinc2017() { return fs::exists(kCinc2017 / "A00001.hea") && fs::exists(kCinc2017 / "REFERENCE.csv"); }

std::string slurp(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// REFERENCE.csv as record → class, read here independently of the plugin.
std::map<std::string, std::string> reference_labels() {
    std::map<std::string, std::string> out;
    std::istringstream in(slurp(kCinc2017 / "REFERENCE.csv"));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto comma = line.find(',');
        if (comma != std::string::npos) out[line.substr(0, comma)] = line.substr(comma + 1);
    }
    return out;
}

/// Sample t of a CinC 2017 record straight from its `.mat` bytes (format 16+24: little-endian int16
/// after a 24-byte MATLAB v4 header; gain 1000/mV, baseline 0).
double raw_mv(const std::string& record, std::int64_t t) {
    std::ifstream in(kCinc2017 / (record + ".mat"), std::ios::binary);
    in.seekg(24 + 2 * t);
    unsigned char b[2] = {0, 0};
    in.read(reinterpret_cast<char*>(b), 2);
    return static_cast<double>(static_cast<std::int16_t>(b[0] | (b[1] << 8))) / 1000.0;
}

std::map<std::string, ParamValue> cinc_params() {
    return {{"path", kCinc2017.string()},
            {"labels_csv", (kCinc2017 / "REFERENCE.csv").string()},
            {"labels_format", std::string("reference")},
            {"label_columns", std::vector<std::string>{"N", "A", "O", "~"}},
            {"sampling_rate", 300.0},
            {"duration_s", 10.0},  // the shortest of the 150 has 3002 samples
            {"val_fraction", 0.0},
            {"test_fraction", 0.0}};
}

TEST(LeadMapping, Cinc2017AllLoadAsLeadIWithReferenceLabels) {
    if (!have_cinc2017()) GTEST_SKIP() << "shared CinC 2017 records absent: " << kCinc2017;
    // The headers really are CRLF, and the signal is described `ECG`.
    const std::string hea = slurp(kCinc2017 / "A00001.hea");
    ASSERT_NE(hea.find("\r\n"), std::string::npos);
    ASSERT_NE(hea.find(" ECG"), std::string::npos);

    auto params = cinc_params();
    params["lead_alias"] = std::vector<std::string>{"ECG=I"};
    auto ds = make_dataset("wfdb_folder", params);
    const auto info = ds->info();
    EXPECT_EQ(info.leads, std::vector<std::string>{"I"});
    EXPECT_EQ(info.classes, (std::vector<std::string>{"N", "A", "O", "~"}));
    EXPECT_EQ(info.samples, 3000);
    EXPECT_NE(info.preprocessing.find("leads mapped: ECG -> I (lead_alias)"), std::string::npos) << info.preprocessing;
    EXPECT_TRUE(ds->dropped_records().empty());

    const auto train = ds->load(Split::Train, {"I"});
    ASSERT_EQ(train.size(), 150);
    EXPECT_TRUE(ds->dropped_records().empty());
    EXPECT_TRUE(train.lead_present.all().item<bool>());
    EXPECT_TRUE(at::isfinite(train.signals).all().item<bool>());

    // Every record's one-hot label is its REFERENCE.csv class.
    const auto reference = reference_labels();
    const std::vector<std::string> classes{"N", "A", "O", "~"};
    std::map<std::string, int> counts;
    for (std::int64_t i = 0; i < train.size(); ++i) {
        const std::string& id = train.record_ids[static_cast<std::size_t>(i)];
        ASSERT_TRUE(reference.count(id)) << id;
        ++counts[reference.at(id)];
        for (std::size_t k = 0; k < classes.size(); ++k) {
            EXPECT_FLOAT_EQ(train.labels[i][static_cast<std::int64_t>(k)].item<float>(), reference.at(id) == classes[k] ? 1.0f : 0.0f)
                << id << " class " << classes[k];
        }
    }
    EXPECT_EQ(counts, (std::map<std::string, int>{{"A", 17}, {"N", 86}, {"O", 47}}));  // no `~` among these 150

    // Samples equal the `.mat` bytes (first, middle and last sample served) for a few records.
    for (const std::string id : {"A00001", "A00004", "A00150"}) {
        const auto i = row_of(train, id);
        ASSERT_GE(i, 0) << id;
        for (std::int64_t t : {0, 1, 1500, 2999}) EXPECT_NEAR(train.signals[i][0][t].item<float>(), raw_mv(id, t), 1e-6) << id << " t=" << t;
    }

    // default_lead = "I" maps the same single `ECG` signal: the same records and samples, another instance.
    auto by_default = cinc_params();
    by_default["default_lead"] = std::string("I");
    auto other = make_dataset("wfdb_folder", by_default);
    const auto train2 = other->load(Split::Train, {"I"});
    EXPECT_EQ(train2.record_ids, train.record_ids);
    EXPECT_TRUE(at::equal(train2.signals, train.signals));
    EXPECT_NE(other->info().fingerprint, info.fingerprint);
    EXPECT_NE(other->info().preprocessing.find("-> I (default_lead)"), std::string::npos) << other->info().preprocessing;

    // With the default split fractions, the 150 records are split by record.
    params.erase("val_fraction");
    params.erase("test_fraction");
    auto split = make_dataset("wfdb_folder", params);
    std::int64_t total = 0;
    for (Split s : {Split::Train, Split::Val, Split::Test}) {
        const auto part = split->load(s, {"I"});
        EXPECT_GT(part.size(), 0) << ecgbench::to_string(s);
        total += part.size();
    }
    EXPECT_EQ(total, 150);
}

TEST(LeadMapping, Cinc2017UnmappedSignalNamesItAndTheFix) {
    if (!have_cinc2017()) GTEST_SKIP() << "shared CinC 2017 records absent: " << kCinc2017;
    try {
        make_dataset("wfdb_folder", cinc_params());
        FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("150 no standard ECG lead"), std::string::npos) << what;
        EXPECT_NE(what.find("A00001: no standard ECG lead: signal 'ECG' is not a standard lead name; map it with "
                            "lead_alias = [\"ECG=I\"] or default_lead = \"I\""),
                  std::string::npos)
            << what;
    }
}

TEST(LeadMapping, Cinc2017NoisyClassKeptOrDropped) {
    if (!have_cinc2017()) GTEST_SKIP() << "shared CinC 2017 records absent: " << kCinc2017;
    // REFERENCE.csv with A00002 and A00003 relabelled `~` (noisy), as in the full CinC 2017 set.
    TempDir dir("lead_mapping_noisy");
    std::string text = slurp(kCinc2017 / "REFERENCE.csv");
    for (const std::string row : {"A00002,", "A00003,"}) {
        const auto at = text.find(row);
        ASSERT_NE(at, std::string::npos);
        text[at + row.size()] = '~';
    }
    const fs::path labels = dir.path / "REFERENCE.csv";
    std::ofstream(labels, std::ios::binary) << text;
    auto params = cinc_params();
    params["labels_csv"] = labels.string();
    params["lead_alias"] = std::vector<std::string>{"ECG=I"};

    // `~` listed: a class of its own.
    auto kept = make_dataset("wfdb_folder", params);
    const auto all = kept->load(Split::Train, {"I"});
    EXPECT_EQ(all.size(), 150);
    for (const std::string id : {"A00002", "A00003"}) {
        const auto i = row_of(all, id);
        ASSERT_GE(i, 0);
        EXPECT_FLOAT_EQ(all.labels[i][3].item<float>(), 1.0f);
        EXPECT_FLOAT_EQ(all.labels[i].sum().item<float>(), 1.0f);
    }

    // `~` not listed: those records are dropped, with the class named.
    params["label_columns"] = std::vector<std::string>{"N", "A", "O"};
    auto without = make_dataset("wfdb_folder", params);
    EXPECT_EQ(without->info().classes, (std::vector<std::string>{"N", "A", "O"}));
    EXPECT_EQ(without->load(Split::Train, {"I"}).size(), 148);
    const auto dropped = dropped_by_record(*without);
    ASSERT_EQ(dropped.size(), 2u);
    EXPECT_EQ(dropped.at("A00002"), "label not in label_columns ('~')");
    EXPECT_EQ(dropped.at("A00003"), "label not in label_columns ('~')");
    EXPECT_NE(without->info().preprocessing.find("2 label not in label_columns"), std::string::npos)
        << without->info().preprocessing;

    // labels_format = "reference" needs the classes.
    params["label_columns"] = std::vector<std::string>{};
    EXPECT_THROW(make_dataset("wfdb_folder", params), std::invalid_argument);
}

using Records = std::map<std::string, std::vector<std::string>>;  // record → signal descriptions

/// A folder of 1 s records at 250 Hz with the given signal descriptions, one record per entry.
struct NamedRecords {
    TempDir dir;
    explicit NamedRecords(const Records& records, const std::string& tag = "lead_mapping")
        : dir(tag) {
        int r = 0;
        for (const auto& [name, signals] : records) write_test_record(dir.path / name, r++, signals, 250.0, 250);
    }
    std::map<std::string, ParamValue> params(std::map<std::string, ParamValue> extra = {}) const {
        std::map<std::string, ParamValue> p{{"path", dir.path.string()}, {"sampling_rate", 250.0}, {"duration_s", 1.0},
                                            {"val_fraction", 0.0}, {"test_fraction", 0.0}};
        for (auto& [k, v] : extra) p[k] = v;
        return p;
    }
};

TEST(LeadMapping, OtherCorporaNamesMapAndTheirHintsSuggestTheLead) {
    // Names used by other corpora; a plain `I` record keeps the folder usable without a mapping.
    NamedRecords folder({{"a_plain", {"I"}},
                         {"b_ecg1", {"ECG1"}},
                         {"c_lead_ii", {"ECG lead II"}},
                         {"d_cm5", {"CM5"}},
                         {"e_mv1", {"modified V1"}},
                         {"f_lead_i_mv", {"Lead I (mV)"}},
                         {"g_two", {"ECG1", "ECG2"}}});
    auto plain = make_dataset("wfdb_folder", folder.params());
    const auto dropped = dropped_by_record(*plain);
    ASSERT_EQ(dropped.size(), 6u);
    EXPECT_EQ(dropped.at("b_ecg1"), "no standard ECG lead: signal 'ECG1' is not a standard lead name; map it with "
                                    "lead_alias = [\"ECG1=I\"] or default_lead = \"I\"");
    // A lead named in the description is suggested (never applied without the mapping).
    EXPECT_EQ(dropped.at("c_lead_ii"), "no standard ECG lead: signal 'ECG lead II' is not a standard lead name; map it "
                                       "with lead_alias = [\"ECG lead II=II\"] or default_lead = \"II\"");
    EXPECT_NE(dropped.at("e_mv1").find("lead_alias = [\"modified V1=V1\"]"), std::string::npos) << dropped.at("e_mv1");
    EXPECT_NE(dropped.at("f_lead_i_mv").find("lead_alias = [\"Lead I (mV)=I\"]"), std::string::npos) << dropped.at("f_lead_i_mv");
    // Several signals: default_lead does not apply, so only lead_alias is suggested.
    EXPECT_EQ(dropped.at("g_two"), "no standard ECG lead: signals 'ECG1', 'ECG2' are not standard lead names; map them "
                                   "with lead_alias = [\"ECG1=<lead>\", \"ECG2=<lead>\"]");
    EXPECT_NE(plain->info().preprocessing.find("6 no standard ECG lead"), std::string::npos) << plain->info().preprocessing;

    auto mapped = make_dataset(
        "wfdb_folder",
        folder.params({{"lead_alias", std::vector<std::string>{"ECG1=I", "ECG2=II", "ECG lead II=II", "CM5=V5",
                                                               "modified V1=V1", " Lead I (mV) = i"}}}));
    EXPECT_TRUE(dropped_by_record(*mapped).empty());
    EXPECT_EQ(mapped->info().leads, (std::vector<std::string>{"I", "II", "V1", "V5"}));
    const auto all = mapped->load(Split::Train, {"I", "II", "V1", "V5"});
    ASSERT_EQ(all.size(), 7);
    const auto g = row_of(all, "g_two");
    ASSERT_GE(g, 0);
    EXPECT_NEAR(all.signals[g][0][9].item<float>(), test_mv(6, 0, 9), 1e-6);  // ECG1 → I (record index 6)
    EXPECT_NEAR(all.signals[g][1][9].item<float>(), test_mv(6, 1, 9), 1e-6);  // ECG2 → II
    const auto d = row_of(all, "d_cm5");
    ASSERT_GE(d, 0);
    EXPECT_EQ(all.lead_present[d].to(at::kInt).sum().item<int>(), 1);
    EXPECT_TRUE(all.lead_present[d][3].item<bool>());
    EXPECT_NEAR(all.signals[d][3][9].item<float>(), test_mv(3, 0, 9), 1e-6);

    // default_lead names the single-signal records only; g_two stays unmapped.
    auto by_default = make_dataset("wfdb_folder", folder.params({{"default_lead", std::string("II")}}));
    const auto left = dropped_by_record(*by_default);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left.count("g_two"), 1u);
    EXPECT_EQ(by_default->info().leads, (std::vector<std::string>{"I", "II"}));
}

TEST(LeadMapping, AmbiguousMappingDropsTheRecordNamingIt) {
    NamedRecords folder({{"ok", {"ECG1"}}, {"both_aliased", {"ECG1", "ECG2"}}, {"named_and_aliased", {"I", "ECG1"}},
                         {"two_named", {"MLII", "II"}}});
    auto ds = make_dataset("wfdb_folder", folder.params({{"lead_alias", std::vector<std::string>{"ECG1=I", "ECG2=I"}}}));
    const auto dropped = dropped_by_record(*ds);
    ASSERT_EQ(dropped.size(), 2u);
    EXPECT_EQ(dropped.at("both_aliased"),
              "ambiguous lead mapping: signals 'ECG1' and 'ECG2' both map to lead I (lead_alias / default_lead)");
    EXPECT_EQ(dropped.at("named_and_aliased"),
              "ambiguous lead mapping: signals 'I' and 'ECG1' both map to lead I (lead_alias / default_lead)");
    EXPECT_NE(ds->info().preprocessing.find("2 ambiguous lead mapping"), std::string::npos) << ds->info().preprocessing;
    // Two standard names for one lead (no mapping involved): the first is used, as before.
    const auto train = ds->load(Split::Train, {"II"});
    const auto i = row_of(train, "two_named");
    ASSERT_GE(i, 0);
    EXPECT_NEAR(train.signals[i][0][9].item<float>(), test_mv(3, 0, 9), 1e-6);

    // When every record is ambiguous, the error names the record and why.
    NamedRecords bad({{"rec1", {"ECG1", "ECG2"}}}, "lead_mapping_bad");
    try {
        make_dataset("wfdb_folder", bad.params({{"lead_alias", std::vector<std::string>{"ECG1=I", "ECG2=I"}}}));
        FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("rec1: ambiguous lead mapping: signals 'ECG1' and 'ECG2' both map to lead I"),
                  std::string::npos)
            << e.what();
    }
}

TEST(LeadMapping, BadMappingParamsAreClearErrors) {
    NamedRecords folder(Records{{"r", {"ECG"}}});
    const auto expect_error = [&](std::map<std::string, ParamValue> extra, const std::string& needle) {
        try {
            make_dataset("wfdb_folder", folder.params(std::move(extra)));
            ADD_FAILURE() << "expected std::invalid_argument mentioning " << needle;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expect_error({{"lead_alias", std::vector<std::string>{"ECG"}}}, "`lead_alias`: 'ECG' is not SIGNAL=LEAD");
    expect_error({{"lead_alias", std::vector<std::string>{"ECG=X7"}}}, "`lead_alias`: 'ECG=X7' is not SIGNAL=LEAD");
    expect_error({{"lead_alias", std::vector<std::string>{"=I"}}}, "`lead_alias`: '=I' is not SIGNAL=LEAD");
    expect_error({{"lead_alias", std::vector<std::string>{"ECG=I", "ECG=II"}}}, "signal 'ECG' is mapped to both I and II");
    expect_error({{"default_lead", std::string("ECG")}}, "`default_lead`: 'ECG' is not a standard lead");
}

TEST(LeadMapping, MappingIsPartOfTheFingerprint) {
    NamedRecords folder(Records{{"r", {"ECG"}}, {"s", {"I"}}});
    const std::string none = make_dataset("wfdb_folder", folder.params())->info().fingerprint;
    const std::string alias =
        make_dataset("wfdb_folder", folder.params({{"lead_alias", std::vector<std::string>{"ECG=I"}}}))->info().fingerprint;
    const std::string other =
        make_dataset("wfdb_folder", folder.params({{"lead_alias", std::vector<std::string>{"ECG=II"}}}))->info().fingerprint;
    const std::string by_default =
        make_dataset("wfdb_folder", folder.params({{"default_lead", std::string("I")}}))->info().fingerprint;
    EXPECT_EQ(std::set<std::string>({none, alias, other, by_default}).size(), 4u);
}

TEST(LeadMapping, EveryWfdbDatasetPluginDeclaresTheMappingParams) {
    for (const std::string name : {"wfdb_folder", "physionet2021", "ptbxl", "ludb", "mitbih", "af_holter", "mimic_iv_ecg"}) {
        const auto& manifest = registry().require(name, ecgbench::PluginKind::Dataset).manifest();
        std::map<std::string, const ecgbench::ParamSpec*> specs;
        for (const auto& spec : manifest.params) specs[spec.name] = &spec;
        ASSERT_TRUE(specs.count("lead_alias")) << name;
        ASSERT_TRUE(specs.count("default_lead")) << name;
        EXPECT_EQ(specs.at("lead_alias")->type, ecgbench::ParamType::StringList) << name;
        EXPECT_EQ(std::get<std::vector<std::string>>(specs.at("lead_alias")->default_value), std::vector<std::string>{}) << name;
        EXPECT_EQ(specs.at("default_lead")->type, ecgbench::ParamType::String) << name;
        EXPECT_EQ(std::get<std::string>(specs.at("default_lead")->default_value), "") << name;
    }
}

}  // namespace
