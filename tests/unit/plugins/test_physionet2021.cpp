// The `physionet2021` dataset plugin on the 9 real CinC 2021 records of the shared data folder
// (symlinked into a per-source temp layout) plus hand-made headers with the real files' quirks.
#include "ecgbench/dataset.hpp"
#include "ecgbench/leads.hpp"
#include "unit/plugins/dataset_test_support.hpp"
#include "unit/plugins/stream_check.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
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

const fs::path kCinc = fs::path(ECGBENCH_SHARED_DATA) / "torch_ecg" / "cinc2021";

std::string read_file(const fs::path& file) {
    std::ifstream in(file);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// E07500's header with another record line and other comments, over E07500.mat.
void write_variant(const fs::path& dir, const std::string& record_line, const std::string& comments) {
    std::string text = read_file(kCinc / "E07500.hea");
    text = record_line + text.substr(text.find('\n'), text.find("\n#") - text.find('\n') + 1) + comments;
    std::ofstream(dir / (record_line.substr(0, record_line.find(' ')) + ".hea")) << text;
}

/// georgia/ (E07500-2), ptbxl/ (HR06000-2), ningbo/ (JS20000-2) as symlinks; extra/ holds
/// E09999 (Dx "63593006,63593006,," , Age NaN, no Sex), E09998 (only an unscored code), E09997
/// (250 Hz) and Z00001 (unknown prefix), all over a link to E07500.mat.
struct CincFolder {
    TempDir dir{"physionet2021"};
    CincFolder() {
        const std::map<std::string, std::vector<std::string>> layout{
            {"georgia", {"E07500", "E07501", "E07502"}},
            {"ptbxl", {"HR06000", "HR06001", "HR06002"}},
            {"ningbo", {"JS20000", "JS20001", "JS20002"}}};
        for (const auto& [folder, records] : layout) {
            fs::create_directories(dir.path / folder);
            for (const auto& r : records)
                for (const char* ext : {".hea", ".mat"}) fs::create_symlink(kCinc / (r + ext), dir.path / folder / (r + ext));
        }
        const fs::path extra = dir.path / "extra";
        fs::create_directories(extra);
        fs::create_symlink(kCinc / "E07500.mat", extra / "E07500.mat");
        write_variant(extra, "E09999 12 500 5000", "# Age: NaN\n# Dx: 63593006,63593006,,\n# Rx: Unknown\n");
        write_variant(extra, "E09998 12 500 5000", "# Age: 50\n# Sex: female\n# Dx: 55930002\n");
        write_variant(extra, "E09997 12 250 5000", "# Age: 50\n# Sex: Male\n# Dx: 426783006\n");
        write_variant(extra, "Z00001 12 500 5000", "# Age: 50\n# Sex: Male\n# Dx: 426783006\n");
    }
    std::map<std::string, ParamValue> params() const {
        // E09997 (250 Hz) dropped; ResamplesOtherRates keeps it.
        return {{"path", dir.path.string()}, {"val_fraction", 0.2}, {"test_fraction", 0.2}, {"resample", false}};
    }
};

bool have_data() { return fs::exists(kCinc / "HR06001.hea"); }

/// Every kept record's label set (class names) and split, over the three splits.
struct Loaded {
    std::map<std::string, std::set<std::string>> labels;
    std::map<std::string, Split> split;
    std::map<std::string, std::pair<float, float>> age_sex;
    std::map<Split, ecgbench::EcgSplit> splits;
};
Loaded load_all(ecgbench::Dataset& ds, const std::vector<std::string>& leads) {
    Loaded out;
    const auto classes = ds.info().classes;
    for (Split split : {Split::Train, Split::Val, Split::Test}) {
        auto s = ds.load(split, leads);
        for (std::int64_t i = 0; i < s.size(); ++i) {
            const std::string id = s.record_ids[static_cast<std::size_t>(i)];
            std::set<std::string> labels;
            for (std::size_t k = 0; k < classes.size(); ++k)
                if (s.labels[i][static_cast<std::int64_t>(k)].item<float>() == 1.0f) labels.insert(classes[k]);
            out.labels[id] = labels;
            out.split[id] = split;
            out.age_sex[id] = {s.covariates.at("age")[i].item<float>(), s.covariates.at("sex")[i].item<float>()};
        }
        out.splits[split] = std::move(s);
    }
    return out;
}

TEST(Physionet2021, ScoredClassesWithEquivalentPairsMerged) {
    if (!have_data()) GTEST_SKIP() << "shared CinC 2021 records absent: " << kCinc;
    CincFolder folder;
    auto ds = make_dataset("physionet2021", folder.params());
    const auto info = ds->info();
    ASSERT_EQ(info.classes.size(), 26u);
    EXPECT_EQ(info.classes[4], "733534002|164909002");
    EXPECT_EQ(info.classes[15], "284470004|63593006");
    EXPECT_EQ(info.leads, ecgbench::standard_12_leads());
    EXPECT_EQ(info.samples, 5000);

    const auto loaded = load_all(*ds, ecgbench::standard_12_leads());
    const std::map<std::string, std::set<std::string>> expected{
        {"E07500", {"426177001"}},  // + unscored 67741000119109
        {"E07501", {"427084000"}},  // + unscored 253352002
        {"E07502", {"427084000"}},
        {"HR06000", {"164934002", "426783006"}},
        {"HR06001", {"426783006"}},  // + unscored 55930002
        {"HR06002", {"426177001", "426783006", "713426002"}},
        {"JS20000", {"284470004|63593006", "427084000", "698252002"}},  // PAC counts as PAC|SVPB
        {"JS20001", {"284470004|63593006", "427084000", "698252002"}},
        {"JS20002", {"284470004|63593006", "164934002", "59931005"}},
        {"E09999", {"284470004|63593006"}},  // SVPB, duplicated, trailing commas
    };
    EXPECT_EQ(loaded.labels, expected);

    EXPECT_FLOAT_EQ(loaded.age_sex.at("E07500").first, 78.0f);
    EXPECT_FLOAT_EQ(loaded.age_sex.at("E07500").second, 1.0f);  // Male
    EXPECT_FLOAT_EQ(loaded.age_sex.at("HR06000").first, 59.0f);
    EXPECT_FLOAT_EQ(loaded.age_sex.at("HR06000").second, 0.0f);  // Female
    EXPECT_TRUE(std::isnan(loaded.age_sex.at("E09999").first));
    EXPECT_TRUE(std::isnan(loaded.age_sex.at("E09999").second));

    const auto dropped = dropped_by_record(*ds);
    ASSERT_EQ(dropped.size(), 3u);
    EXPECT_EQ(dropped.at("E09998"), "no scored class (Dx: 55930002)");
    EXPECT_EQ(dropped.at("E09997"), "sampling rate 250 Hz (expected 500)");
    EXPECT_EQ(dropped.at("Z00001").rfind("unknown source", 0), 0u) << dropped.at("Z00001");

    // 10 kept records: 2 val, 2 test, 6 train; each record is its own subject.
    std::map<Split, int> counts;
    for (const auto& [id, split] : loaded.split) ++counts[split];
    EXPECT_EQ(counts[Split::Train], 6);
    EXPECT_EQ(counts[Split::Val], 2);
    EXPECT_EQ(counts[Split::Test], 2);

    // Physical values of HR06001 (lower-case "mv" units) against WFDB 10.7.0 rdsamp -P.
    const auto& s = loaded.splits.at(loaded.split.at("HR06001"));
    const auto i = row_of(s, "HR06001");
    EXPECT_NEAR(s.signals[i][0][0].item<float>(), 0.050, 1e-6);      // I
    EXPECT_NEAR(s.signals[i][1][0].item<float>(), 0.165, 1e-6);      // II
    EXPECT_NEAR(s.signals[i][11][0].item<float>(), -0.110, 1e-6);    // V6
    EXPECT_NEAR(s.signals[i][0][1002].item<float>(), 0.025, 1e-6);   // I at 2.004 s
    EXPECT_NEAR(s.signals[i][4][1002].item<float>(), 0.017, 1e-6);   // aVL
    EXPECT_NEAR(s.signals[i][11][1002].item<float>(), -0.032, 1e-6); // V6
}

TEST(Physionet2021, AllCodesAndSourceSelection) {
    if (!have_data()) GTEST_SKIP() << "shared CinC 2021 records absent: " << kCinc;
    CincFolder folder;
    auto params = folder.params();
    params["label_space"] = std::string("all");
    auto all = make_dataset("physionet2021", params);
    EXPECT_EQ(all->info().classes,
              (std::vector<std::string>{"164934002", "251187003", "253352002", "284470004|63593006", "426177001", "426783006",
                                        "427084000", "55930002", "59931005", "67741000119109", "698252002", "713426002"}));
    EXPECT_EQ(dropped_by_record(*all).count("E09998"), 0u);  // 55930002 is a class now

    // A held-out source: only the PTB-XL records (the 6 other real ones and E09997-9 are of other
    // sources; Z00001 is dropped, its source unknown).
    params = folder.params();
    params["sources"] = std::vector<std::string>{"ptbxl"};
    auto ptbxl = make_dataset("physionet2021", params);
    const auto loaded = load_all(*ptbxl, {"II"});
    std::set<std::string> ids;
    for (const auto& [id, split] : loaded.split) ids.insert(id);
    EXPECT_EQ(ids, (std::set<std::string>{"HR06000", "HR06001", "HR06002"}));
    EXPECT_NE(ptbxl->info().preprocessing.find("sources: ptbxl (9 records of other sources not used)"), std::string::npos)
        << ptbxl->info().preprocessing;
    EXPECT_NE(ptbxl->info().fingerprint, make_dataset("physionet2021", folder.params())->info().fingerprint);

    params["sources"] = std::vector<std::string>{"ptb-xl"};
    try {
        make_dataset("physionet2021", params);
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("unknown source 'ptb-xl'"), std::string::npos) << e.what();
    }
}

TEST(Physionet2021, SplitsAreStableAndSeeded) {
    if (!have_data()) GTEST_SKIP() << "shared CinC 2021 records absent: " << kCinc;
    CincFolder folder;
    auto a = make_dataset("physionet2021", folder.params());
    auto b = make_dataset("physionet2021", folder.params());
    EXPECT_EQ(a->info().fingerprint, b->info().fingerprint);
    EXPECT_EQ(a->load(Split::Test, {"I"}).record_ids, b->load(Split::Test, {"I"}).record_ids);
    auto params = folder.params();
    params["seed"] = std::int64_t{7};
    EXPECT_NE(make_dataset("physionet2021", params)->info().fingerprint, a->info().fingerprint);
}

}  // namespace

TEST(Physionet2021, StreamingRealRecordsGivesWhatLoadGives) {
    if (!have_data()) GTEST_SKIP() << "shared CinC 2021 records absent: " << kCinc;
    CincFolder folder;
    auto ds = make_dataset("physionet2021", folder.params());
    for (Split split : {Split::Train, Split::Val, Split::Test})
        test_support::expect_stream_matches_load(*ds, split, {"V6", "I", "aVF"}, 2);
}

TEST(Physionet2021, ResamplesOtherRates) {
    if (!have_data()) GTEST_SKIP() << "shared CinC 2021 records absent: " << kCinc;
    // E09997 is E07500's samples declared at 250 Hz. Served at 500 Hz they are interpolated by 2;
    // the windowed-sinc filter is zero at every other tap, so even output samples are E07500's
    // scaled by the centre tap (1, up to the filter's DC-gain normalisation: < 0.2 %).
    CincFolder folder;
    auto params = folder.params();
    params["resample"] = true;
    auto ds = make_dataset("physionet2021", params);
    const auto loaded = load_all(*ds, ecgbench::standard_12_leads());
    ASSERT_TRUE(loaded.split.count("E09997"));
    EXPECT_EQ(dropped_by_record(*ds).count("E09997"), 0u);
    auto row = [&](const std::string& id) {
        const auto& s = loaded.splits.at(loaded.split.at(id));
        for (std::size_t i = 0; i < s.record_ids.size(); ++i)
            if (s.record_ids[i] == id) return s.signals[static_cast<std::int64_t>(i)];
        return at::Tensor();
    };
    const at::Tensor resampled = row("E09997"), original = row("E07500");
    ASSERT_EQ(resampled.sizes(), original.sizes());
    const at::Tensor even = resampled.slice(1, 0, 5000, 2);
    const float peak = original.slice(1, 0, 2500).abs().max().item<float>();
    EXPECT_LT((even - original.slice(1, 0, 2500)).abs().max().item<float>(), 2e-3f * peak);
    // Odd samples are interpolated, not copies: they differ from both neighbours somewhere.
    EXPECT_GT((resampled.slice(1, 1, 4999, 2) - even.slice(1, 0, 2499)).abs().max().item<float>(), 1e-3f);
}
