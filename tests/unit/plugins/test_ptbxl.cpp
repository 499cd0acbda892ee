// The `ptbxl` dataset plugin on a small PTB-XL layout built in a temp folder: records written with
// the WFDB writer at 100 and 500 Hz, hand-written ptbxl_database.csv and scp_statements.csv.
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

const std::vector<std::string> kPtbxlLeads{"I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"};

// Statements: like the real scp_statements.csv (NDT is both diagnostic and form; ASMI's subclass is AMI).
constexpr const char* kStatements =
    ",description,diagnostic,form,rhythm,diagnostic_class,diagnostic_subclass,Statement Category\n"
    "NDT,non-diagnostic T abnormalities,1.0,1.0,,STTC,STTC,other ST-T descriptive statements\n"
    "NORM,normal ECG,1.0,,,NORM,NORM,Normal/abnormal\n"
    "IMI,inferior myocardial infarction,1.0,,,MI,IMI,Myocardial Infarction\n"
    "ASMI,anteroseptal myocardial infarction,1.0,,,MI,AMI,Myocardial Infarction\n"
    "LVH,left ventricular hypertrophy,1.0,,,HYP,LVH,Hypertrophic abnormalities\n"
    "PVC,ventricular premature complex,,1.0,,,,other\n"
    "SR,sinus rhythm,,,1.0,,,Rhythm\n"
    "AFIB,atrial fibrillation,,,1.0,,,Rhythm\n";

/// Records 1..8:
///  1 p15709 NORM+SR fold 3 (train); 2 p15709 IMI+ASMI+SR fold 3 (train, leads written in reverse
///  order); 3 p20372 NDT+PVC fold 9 (val, age 300); 4 SR only fold 10; 5 LVH+AFIB fold 10 (test,
///  no age); 6 NORM, no header file; 7 NORM+SR fold 2, invalid sample; 8 IMI fold 10, 5 s long.
struct PtbxlFolder {
    TempDir dir{"ptbxl"};
    fs::path root() const { return dir.path; }
    PtbxlFolder() {
        std::ofstream(root() / "scp_statements.csv") << kStatements;
        std::ofstream db(root() / "ptbxl_database.csv");
        db << "ecg_id,patient_id,age,sex,height,weight,nurse,site,device,recording_date,report,scp_codes,heart_axis,"
              "strat_fold,filename_lr,filename_hr\n";
        struct Row {
            int id;
            const char* patient;
            const char* age;
            int sex;
            const char* height;
            const char* codes;
            int fold;
            const char* report;
        };
        const std::vector<Row> rows{
            {1, "15709.0", "56.0", 1, "", "{'NORM': 100.0, 'SR': 0.0}", 3, "sinusrhythmus normales ekg"},
            {2, "15709.0", "57.0", 1, "160.0", "{'IMI': 80.0, 'ASMI': 15.0, 'SR': 0.0}", 3,
             "sinus rhythm, \"inferior\" infarct, possibly anteroseptal"},
            {3, "20372.0", "300.0", 0, "", "{'NDT': 100.0, 'PVC': 100.0}", 9, "ventricular ectopics\nt abnormal"},
            {4, "17014.0", "48.0", 0, "", "{'SR': 0.0}", 10, "sinus rhythm"},
            {5, "17448.0", "", 0, "181.0", "{'LVH': 50.0, 'AFIB': 0.0}", 10, "afib lvh"},
            {6, "19005.0", "45.0", 1, "", "{'NORM': 100.0}", 1, "normal"},
            {7, "11111.0", "33.0", 0, "", "{'NORM': 80.0, 'SR': 0.0}", 2, "normal"},
            {8, "12222.0", "60.0", 1, "", "{'IMI': 100.0}", 10, "old inferior mi"},
        };
        for (const auto& r : rows) {
            char lr[64], hr[64];
            std::snprintf(lr, sizeof lr, "records100/00000/%05d_lr", r.id);
            std::snprintf(hr, sizeof hr, "records500/00000/%05d_hr", r.id);
            db << r.id << "," << r.patient << "," << r.age << "," << r.sex << "," << r.height << ",,,,,,\"";
            for (const char* c = r.report; *c; ++c) db << (*c == '"' ? "\"\"" : std::string(1, *c));
            db << "\",\"" << r.codes << "\",," << r.fold << "," << lr << "," << hr << "\n";
            if (r.id == 6) continue;  // its files are missing
            std::vector<std::string> leads = kPtbxlLeads;
            if (r.id == 2) leads.assign(kPtbxlLeads.rbegin(), kPtbxlLeads.rend());
            const std::int64_t seconds = r.id == 8 ? 5 : 10;
            write_test_record(root() / lr, r.id, leads, 100.0, seconds * 100, r.id == 7 ? 40 : -1);
            write_test_record(root() / hr, r.id, leads, 500.0, seconds * 500, r.id == 7 ? 40 : -1);
        }
    }
    std::map<std::string, ParamValue> params(const std::string& label_set, std::int64_t rate = 100) const {
        return {{"path", root().string()}, {"label_set", label_set}, {"sampling_rate", rate}};
    }
};

std::vector<std::string> ids(const ecgbench::EcgSplit& s) { return s.record_ids; }

TEST(Ptbxl, SuperdiagnosticLabelsFoldsCovariatesTexts) {
    PtbxlFolder folder;
    auto ds = make_dataset("ptbxl", folder.params("superdiagnostic"));
    const auto info = ds->info();
    EXPECT_EQ(info.name, "ptbxl");
    EXPECT_EQ(info.classes, (std::vector<std::string>{"HYP", "MI", "NORM", "STTC"}));  // no CD in this database
    EXPECT_EQ(info.leads, ecgbench::standard_12_leads());
    EXPECT_EQ(info.samples, 1000);
    EXPECT_DOUBLE_EQ(info.sampling_rate_hz, 100.0);
    EXPECT_NE(info.split_rule.find("1-8 train, 9 val, 10 test"), std::string::npos) << info.split_rule;

    const std::vector<std::string> leads{"V6", "I", "aVR"};
    const auto train = ds->load(Split::Train, leads);
    const auto val = ds->load(Split::Val, leads);
    const auto test = ds->load(Split::Test, leads);
    EXPECT_EQ(ids(train), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(ids(val), (std::vector<std::string>{"3"}));
    EXPECT_EQ(ids(test), (std::vector<std::string>{"5"}));
    ASSERT_EQ(train.signals.sizes(), (at::IntArrayRef{2, 3, 1000}));
    ASSERT_EQ(train.labels.sizes(), (at::IntArrayRef{2, 4}));

    // Labels: 1 NORM; 2 MI (IMI and ASMI both map to MI); 3 STTC (NDT); 5 HYP.
    EXPECT_TRUE(at::equal(train.labels, at::tensor({0.f, 0.f, 1.f, 0.f, 0.f, 1.f, 0.f, 0.f}).reshape({2, 4})));
    EXPECT_TRUE(at::equal(val.labels, at::tensor({0.f, 0.f, 0.f, 1.f}).reshape({1, 4})));
    EXPECT_TRUE(at::equal(test.labels, at::tensor({1.f, 0.f, 0.f, 0.f}).reshape({1, 4})));

    // Leads by name: record 1 stores I as signal 0, V6 as 11; record 2 stores them reversed.
    for (std::int64_t t : {0, 1, 500, 999}) {
        EXPECT_NEAR(train.signals[0][0][t].item<float>(), test_mv(1, 11, t), 1e-6);
        EXPECT_NEAR(train.signals[0][1][t].item<float>(), test_mv(1, 0, t), 1e-6);
        EXPECT_NEAR(train.signals[0][2][t].item<float>(), test_mv(1, 3, t), 1e-6);  // AVR → aVR
        EXPECT_NEAR(train.signals[1][0][t].item<float>(), test_mv(2, 0, t), 1e-6);
        EXPECT_NEAR(train.signals[1][1][t].item<float>(), test_mv(2, 11, t), 1e-6);
        EXPECT_NEAR(train.signals[1][2][t].item<float>(), test_mv(2, 8, t), 1e-6);
    }
    EXPECT_TRUE(train.lead_present.all().item<bool>());

    // Subjects: records 1 and 2 share patient 15709.
    EXPECT_EQ(train.subjects[0].item<std::int64_t>(), train.subjects[1].item<std::int64_t>());
    EXPECT_NE(train.subjects[0].item<std::int64_t>(), val.subjects[0].item<std::int64_t>());

    // Covariates: age (300 → 90, empty → NaN), sex flipped to 1 = male, height.
    EXPECT_FLOAT_EQ(train.covariates.at("age")[0].item<float>(), 56.0f);
    EXPECT_FLOAT_EQ(val.covariates.at("age")[0].item<float>(), 90.0f);
    EXPECT_TRUE(std::isnan(test.covariates.at("age")[0].item<float>()));
    EXPECT_FLOAT_EQ(train.covariates.at("sex")[0].item<float>(), 0.0f);  // PTB-XL sex 1 = female
    EXPECT_FLOAT_EQ(val.covariates.at("sex")[0].item<float>(), 1.0f);
    EXPECT_TRUE(std::isnan(train.covariates.at("height")[0].item<float>()));
    EXPECT_FLOAT_EQ(train.covariates.at("height")[1].item<float>(), 160.0f);
    EXPECT_TRUE(std::isnan(train.covariates.at("weight")[1].item<float>()));

    // Texts: the report column, CSV quoting undone.
    ASSERT_EQ(train.texts.size(), 2u);
    EXPECT_EQ(train.texts[0], "sinusrhythmus normales ekg");
    EXPECT_EQ(train.texts[1], "sinus rhythm, \"inferior\" infarct, possibly anteroseptal");
    EXPECT_EQ(val.texts[0], "ventricular ectopics\nt abnormal");

    // Every drop with its reason: 4 (no label), 6 (no header), 7 (invalid sample), 8 (too short).
    const auto dropped = dropped_by_record(*ds);
    ASSERT_EQ(dropped.size(), 4u);
    EXPECT_EQ(dropped.at("4"), "no superdiagnostic label (scp_codes: SR)");
    EXPECT_EQ(dropped.at("6").rfind("unreadable header: cannot read", 0), 0u) << dropped.at("6");
    EXPECT_EQ(dropped.at("7"), "invalid samples (signal V6, sample 40)");  // the first lead asked for
    EXPECT_EQ(dropped.at("8"), "too short (5 s < 10 s)");
    EXPECT_NE(ds->info().preprocessing.find("dropped 4 records: 1 invalid samples, 1 no superdiagnostic label, "
                                            "1 too short, 1 unreadable header"),
              std::string::npos)
        << ds->info().preprocessing;
}

TEST(Ptbxl, LabelSetsFollowScpStatements) {
    PtbxlFolder folder;
    struct Case {
        std::string set;
        std::vector<std::string> classes;
        std::set<std::string> no_label;  // records dropped for having no label in the set
    };
    const std::vector<Case> cases{
        {"all", {"AFIB", "ASMI", "IMI", "LVH", "NDT", "NORM", "PVC", "SR"}, {}},
        {"diagnostic", {"ASMI", "IMI", "LVH", "NDT", "NORM"}, {"4"}},
        {"subdiagnostic", {"AMI", "IMI", "LVH", "NORM", "STTC"}, {"4"}},
        {"form", {"NDT", "PVC"}, {"1", "2", "4", "5", "6", "7", "8"}},
        {"rhythm", {"AFIB", "SR"}, {"3", "6", "8"}},
    };
    for (const auto& c : cases) {
        auto ds = make_dataset("ptbxl", folder.params(c.set));
        EXPECT_EQ(ds->info().classes, c.classes) << c.set;
        std::set<std::string> no_label;
        for (const auto& [record, reason] : dropped_by_record(*ds))
            if (reason.rfind("no " + c.set + " label (scp_codes: ", 0) == 0) no_label.insert(record);
        EXPECT_EQ(no_label, c.no_label) << c.set;
    }
    // Subdiagnostic multi-hot of record 2: AMI (from ASMI) and IMI.
    auto sub = make_dataset("ptbxl", folder.params("subdiagnostic"));
    const auto train = sub->load(Split::Train, {"I"});
    const auto i = row_of(train, "2");
    ASSERT_GE(i, 0);
    EXPECT_TRUE(at::equal(train.labels[i], at::tensor({1.f, 1.f, 0.f, 0.f, 0.f})));
    // Likelihood 0.0 still counts (SR in record 1), as in Strodthoff et al.'s code.
    auto rhythm = make_dataset("ptbxl", folder.params("rhythm"));
    const auto rtrain = rhythm->load(Split::Train, {"I"});
    ASSERT_GE(row_of(rtrain, "1"), 0);
    EXPECT_TRUE(at::equal(rtrain.labels[row_of(rtrain, "1")], at::tensor({0.f, 1.f})));
    EXPECT_EQ(dropped_by_record(*rhythm).at("3"), "no rhythm label (scp_codes: NDT, PVC)");
}

TEST(Ptbxl, HighRateUsesFilenameHr) {
    PtbxlFolder folder;
    auto ds = make_dataset("ptbxl", folder.params("superdiagnostic", 500));
    EXPECT_EQ(ds->info().samples, 5000);
    const auto test = ds->load(Split::Test, {"II"});
    ASSERT_EQ(test.signals.sizes(), (at::IntArrayRef{1, 1, 5000}));
    EXPECT_NEAR(test.signals[0][0][4321].item<float>(), test_mv(5, 1, 4321), 1e-6);
    EXPECT_NE(ds->info().fingerprint, make_dataset("ptbxl", folder.params("superdiagnostic"))->info().fingerprint);
}

TEST(Ptbxl, BadInputNamesFileLineAndField) {
    PtbxlFolder folder;
    auto rewrite_row = [&](const std::string& from, const std::string& to) {
        const fs::path db = folder.root() / "ptbxl_database.csv";
        std::ifstream in(db);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto pos = text.find(from);
        ASSERT_NE(pos, std::string::npos);
        text.replace(pos, from.size(), to);
        std::ofstream(db) << text;
    };
    rewrite_row("{'LVH': 50.0, 'AFIB': 0.0}", "{'LVH': 50.0 'AFIB': 0.0}");
    try {
        make_dataset("ptbxl", folder.params("superdiagnostic"));
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        // Row 5 starts on line 7 (row 3's report spans two lines).
        EXPECT_NE(what.find("ptbxl_database.csv:7: scp_codes"), std::string::npos) << what;
        EXPECT_NE(what.find("expected a number"), std::string::npos) << what;
    }
    rewrite_row("{'LVH': 50.0 'AFIB': 0.0}", "{'LVH': 50.0, 'AFIB': 0.0}");
    rewrite_row(",,10,records100/00000/00005_lr", ",,11,records100/00000/00005_lr");
    try {
        make_dataset("ptbxl", folder.params("superdiagnostic"));
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("ptbxl_database.csv:7: strat_fold: expected 1..10, got '11'"), std::string::npos)
            << e.what();
    }
    // Checked on every row, also on one the label set drops anyway (record 4, line 6).
    rewrite_row(",,11,records100/00000/00005_lr", ",,10,records100/00000/00005_lr");
    rewrite_row(",,10,records100/00000/00004_lr", ",,x,records100/00000/00004_lr");
    try {
        make_dataset("ptbxl", folder.params("superdiagnostic"));
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("ptbxl_database.csv:6: strat_fold: expected 1..10, got 'x'"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(make_dataset("ptbxl", {{"path", (folder.root() / "nope").string()}}), std::invalid_argument);
    auto params = folder.params("superdiagnostic");
    params["sampling_rate"] = std::int64_t{250};
    EXPECT_THROW(make_dataset("ptbxl", params), std::invalid_argument);
}

}  // namespace
