// The `mimic_iv_ecg` dataset plugin on a small MIMIC-IV-ECG layout built in a temp folder (records
// written with the WFDB writer in the database's lead order, hand-written record_list.csv and
// machine_measurements.csv).
#include "ecgbench/dataset.hpp"
#include "ecgbench/leads.hpp"
#include "unit/plugins/dataset_test_support.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ecgbench::ParamValue;
using ecgbench::Split;
using namespace test_support;

// aVF before aVL, as in the database's headers.
const std::vector<std::string> kFileLeads{"I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"};

/// Subjects/studies: 10000032 has 40689238 (r1) and 44458630 (r2); 45566732 (r3) has no files;
/// 41234567 (r4) has an invalid sample; 42000001 (r5) is at 250 Hz; 43000002 (r6) has no
/// measurements row.
struct MimicFolder {
    TempDir dir{"mimic_iv_ecg"};
    MimicFolder() {
        struct Row {
            int r;
            const char* subject;
            const char* study;
        };
        const std::vector<Row> rows{{1, "10000032", "40689238"}, {2, "10000032", "44458630"}, {3, "10000560", "45566732"},
                                    {4, "10000635", "41234567"}, {5, "10000764", "42000001"}, {6, "10001122", "43000002"}};
        std::ofstream list(dir.path / "record_list.csv");
        list << "\xEF\xBB\xBF" << "subject_id,study_id,file_name,ecg_time,path\n";  // with a byte order mark
        for (const auto& row : rows) {
            const std::string path = std::string("files/p") + std::string(row.subject).substr(0, 4) + "/p" + row.subject + "/s" +
                                     row.study + "/" + row.study;
            list << row.subject << "," << row.study << "," << row.study << ",2180-07-23 08:44:00," << path << "\n";
            if (row.r == 3) continue;
            write_test_record(dir.path / path, row.r, kFileLeads, row.r == 5 ? 250.0 : 500.0, 5000, row.r == 4 ? 100 : -1);
        }
        std::ofstream mm(dir.path / "machine_measurements.csv");
        mm << "subject_id,study_id,cart_id,ecg_time,report_0,report_1,report_2,bandwidth,filtering,rr_interval,p_onset,"
              "p_end,qrs_onset,qrs_end,t_end,p_axis,qrs_axis,t_axis\n"
              "10000032,40689238,6848296,2180-07-23 08:44:00,Sinus rhythm,Possible right atrial abnormality,Borderline ECG,"
              "0.005-150 Hz,60 Hz  notch Baseline filter,659,40,128,170,258,518,81,77,79\n"
              "10000032,44458630,6848296,2180-07-23 09:54:00,Sinus tachycardia,,,0.005-150 Hz,,500,29999,29999,200,290,29999,"
              "29999,-10,40\n";
    }
    std::map<std::string, ParamValue> params() const {
        return {{"path", dir.path.string()}, {"val_fraction", 0.0}, {"test_fraction", 0.0}};
    }
};

TEST(MimicIvEcg, ReportsMeasurementsLeadsAndDrops) {
    MimicFolder folder;
    auto ds = make_dataset("mimic_iv_ecg", folder.params());
    const auto info = ds->info();
    EXPECT_TRUE(info.classes.empty());
    EXPECT_EQ(info.leads, ecgbench::standard_12_leads());
    EXPECT_EQ(info.samples, 5000);

    const auto train = ds->load(Split::Train, {"aVL", "aVF"});
    ASSERT_EQ(train.size(), 3);
    const auto r1 = row_of(train, "40689238"), r2 = row_of(train, "44458630"), r6 = row_of(train, "43000002");
    ASSERT_GE(r1, 0);
    ASSERT_GE(r2, 0);
    ASSERT_GE(r6, 0);
    EXPECT_EQ(train.labels.sizes(), (at::IntArrayRef{3, 0}));

    // Texts: the report statements of the study joined with "; ".
    EXPECT_EQ(train.texts[static_cast<std::size_t>(r1)], "Sinus rhythm; Possible right atrial abnormality; Borderline ECG");
    EXPECT_EQ(train.texts[static_cast<std::size_t>(r2)], "Sinus tachycardia");
    EXPECT_EQ(train.texts[static_cast<std::size_t>(r6)], "");

    // Measurements: 60000 / 659 bpm, PR 170 - 40, QRS 258 - 170, QT 518 - 170; 29999 = not measured.
    auto cov = [&](const char* name, std::int64_t i) { return train.covariates.at(name)[i].item<float>(); };
    EXPECT_NEAR(cov("hr_bpm", r1), 60000.0 / 659.0, 1e-3);
    EXPECT_FLOAT_EQ(cov("pr_ms", r1), 130.0f);
    EXPECT_FLOAT_EQ(cov("qrs_ms", r1), 88.0f);
    EXPECT_FLOAT_EQ(cov("qt_ms", r1), 348.0f);
    EXPECT_FLOAT_EQ(cov("p_axis", r1), 81.0f);
    EXPECT_FLOAT_EQ(cov("t_axis", r1), 79.0f);
    EXPECT_FLOAT_EQ(cov("hr_bpm", r2), 120.0f);
    EXPECT_TRUE(std::isnan(cov("pr_ms", r2)));
    EXPECT_FLOAT_EQ(cov("qrs_ms", r2), 90.0f);
    EXPECT_TRUE(std::isnan(cov("qt_ms", r2)));
    EXPECT_TRUE(std::isnan(cov("p_axis", r2)));
    EXPECT_FLOAT_EQ(cov("qrs_axis", r2), -10.0f);
    EXPECT_TRUE(std::isnan(cov("hr_bpm", r6)));

    // Leads by name: aVL is the file's signal 5, aVF its signal 4.
    for (std::int64_t t : {0, 2500, 4999}) {
        EXPECT_NEAR(train.signals[r1][0][t].item<float>(), test_mv(1, 5, t), 1e-6);
        EXPECT_NEAR(train.signals[r1][1][t].item<float>(), test_mv(1, 4, t), 1e-6);
    }
    // Subjects: the two studies of 10000032 share one.
    EXPECT_EQ(train.subjects[r1].item<std::int64_t>(), train.subjects[r2].item<std::int64_t>());
    EXPECT_NE(train.subjects[r1].item<std::int64_t>(), train.subjects[r6].item<std::int64_t>());

    const auto dropped = dropped_by_record(*ds);
    ASSERT_EQ(dropped.size(), 3u);
    EXPECT_EQ(dropped.at("45566732").rfind("unreadable header: cannot read", 0), 0u) << dropped.at("45566732");
    EXPECT_EQ(dropped.at("41234567"), "invalid samples (signal aVL, sample 100)");  // the first lead asked for
    EXPECT_EQ(dropped.at("42000001"), "sampling rate 250 Hz (expected 500)");
}

TEST(MimicIvEcg, MaxRecordsIsADeterministicPatientGroupedSubset) {
    MimicFolder folder;
    auto params = folder.params();
    params["max_records"] = std::int64_t{2};
    auto a = make_dataset("mimic_iv_ecg", params);
    auto b = make_dataset("mimic_iv_ecg", params);
    EXPECT_EQ(a->info().fingerprint, b->info().fingerprint);
    EXPECT_NE(a->info().preprocessing.find("4 records beyond max_records not used"), std::string::npos)
        << a->info().preprocessing;
    const auto ta = a->load(Split::Train, {"I"});
    EXPECT_EQ(ta.record_ids, b->load(Split::Train, {"I"}).record_ids);
    // The 2 records chosen are kept or dropped, nothing else is listed.
    EXPECT_EQ(static_cast<std::size_t>(ta.size()) + a->dropped_records().size(), 2u);

    // Patient-disjoint splits: 3 subjects pass the header checks (10000032, 10000635, 10001122), one each.
    params = folder.params();
    params["val_fraction"] = 0.25;
    params["test_fraction"] = 0.25;
    auto split = make_dataset("mimic_iv_ecg", params);
    std::map<std::int64_t, Split> seen;
    std::int64_t total = 0;
    for (Split s : {Split::Train, Split::Val, Split::Test}) {
        const auto part = split->load(s, {"II"});
        total += part.size();
        for (std::int64_t i = 0; i < part.size(); ++i) {
            const auto [it, inserted] = seen.emplace(part.subjects[i].item<std::int64_t>(), s);
            EXPECT_EQ(it->second, s);
        }
    }
    EXPECT_EQ(total, 3);
    EXPECT_THROW(make_dataset("mimic_iv_ecg", {{"path", (folder.dir.path / "nope").string()}}), std::invalid_argument);
}

}  // namespace
