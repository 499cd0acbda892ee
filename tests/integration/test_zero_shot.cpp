// ECG–text pretraining and zero-shot evaluation through the real `ecgbench` binary:
//  - MERL pretrained on a small synthetic site (reports with findings left out at the cohort's
//    omission rate), then `zero_shot` on a held-out site (another device, population and noise):
//    its test macro AUROC must be well above chance (threshold below, from measured values), its
//    per-record scores and labels are stored, and its cell identity holds the class descriptions;
//  - MELP (multi-scale: rhythm, beat, token) through the same path, with a linear probe beside the
//    zero-shot cell: its zero-shot macro AUROC must be well above chance too;
//  - `merl` or `melp` with a dataset that has no reports is refused at `plan`, naming the dataset;
//  - MERL pretraining on the real PTB-XL records in ../shared/data (German free-text reports) with
//    the in-house tokenizer runs end to end (no accuracy claim on 250 records); skipped with a
//    message when the data is absent.
// One thread (--threads 1), so the numbers do not depend on the core count.
#include "support/command.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace fs = std::filesystem;

namespace {

class ZeroShot : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("ecgbench-zeroshot-" + std::to_string(rd()));
        fs::create_directories(dir_);
        store_ = (dir_ / "store.db").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    test_support::CommandResult ecgbench(const std::string& args) const {
        return test_support::run_command(std::string(ECGBENCH_BINARY_DIR) + "/ecgbench --threads 1 --store " + store_ + " " + args);
    }
    std::string write(const std::string& name, const std::string& text) const {
        const std::string path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }
    /// Mean of a test metric over the cells that stored it.
    double mean(const std::string& metric) const {
        SQLite::Database db(store_);
        SQLite::Statement q(db, "SELECT COUNT(*), AVG(value) FROM results WHERE metric = ? AND split = 'test'");
        q.bind(1, metric);
        q.executeStep();
        if (q.getColumn(0).getInt() == 0) ADD_FAILURE() << "no test metric " << metric;
        return q.getColumn(1).getDouble();
    }

    fs::path dir_;
    std::string store_;
};

// Zero-shot test macro AUROC on the held-out site, measured on a 2-vCPU AMD EPYC (OpenBLAS, one
// thread) with this experiment at pretraining seeds 0, 1, 2, 3: 0.776, 0.634, 0.651, 0.573 (MI and
// NORM 0.64-0.99, CD 0.25-0.70: the text tower is trained from scratch on 700 reports for 210
// steps). Twenty epochs did not help (0.697, 0.565, 0.653, 0.709) and take twice as long. The test
// asserts the mean of seeds 0 and 1 (measured 0.705) above 0.62: well above chance, below every
// measured pair mean (seeds 2 and 3: 0.612 would fail it, so the threshold is not slack).
constexpr double kZeroShotThreshold = 0.62;

const char* kSyntheticExperiment = R"(
[experiment]
name = "zeroshot-test"

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = 1000, records_per_subject = 2, duration_s = 2.5, report_omission_rate = 0.1 }
cache = false

[[dataset]]
name = "heldout"
plugin = "synthetic"
params = { seed = 2, records = 600, records_per_subject = 2, duration_s = 2.5, site = 1, lowpass_hz = 40.0, snr_db = 20.0, age_mean = 66.0 }
cache = false

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "merl"
params = { vocab_size = 300, text_width = 64, text_layers = 1, proj_dim = 64, max_tokens = 32 }

[pretrain]
datasets = ["pre"]
seeds = [0, 1]
epochs = 10
batch_size = 32
learning_rate = 3e-3

[[evaluation]]
task = "zero_shot"
datasets = ["heldout"]
# NORM, MI and HYP keep the dataset's descriptions; the synthetic reports name conduction and ST-T
# findings, so those classes get several prompts each (averaged).
params = { prompts = ["CD=left bundle branch block", "CD=right bundle branch block", "CD=first degree AV block",
                      "STTC=ST depression", "STTC=T wave inversion", "STTC=non-specific ST-T changes", "STTC=prolonged QT interval"] }
)";

TEST_F(ZeroShot, MerlPretrainingGivesZeroShotAurocWellAboveChanceOnAHeldOutSite) {
    const auto start = std::chrono::steady_clock::now();
    const auto run = ecgbench("run " + write("zeroshot.toml", kSyntheticExperiment));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const double macro = mean("macro_auroc");
    std::printf("zero-shot test macro AUROC, mean of seeds 0 and 1: %.3f (%.0f s)\n", macro, seconds);
    EXPECT_GT(macro, kZeroShotThreshold);
    EXPECT_NEAR(mean("macro_auroc_percent"), 100 * macro, 1e-9);
    EXPECT_EQ(mean("undefined_classes"), 0.0);

    SQLite::Database db(store_);
    EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM results WHERE metric LIKE 'auroc/%' AND split = 'test'").getInt(), 10);
    // Per-record scores beside the labels, for CIs and paired comparisons from the store.
    EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM record_outputs WHERE split = 'test' AND kind IN ('logits', 'labels')").getInt(), 4);
    EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM cells WHERE kind = 'eval' AND json_extract(config, '$.class_descriptions_sha256') "
                            "IS NOT NULL").getInt(), 2);
    // The pretraining stored both loss terms and the share of records with a report.
    EXPECT_GT(db.execAndGet("SELECT MIN(value) FROM metrics WHERE name = 'final_loss/cma'").getDouble(), 0.0);
    EXPECT_GT(db.execAndGet("SELECT MIN(value) FROM metrics WHERE name = 'final_loss/paired'").getDouble(), 0.99);
}

// MELP in the same setting (the experiment above with melp in place of merl, at its default level
// weights, and a linear probe beside the zero-shot cell). Zero-shot test macro AUROC measured on a
// 2-vCPU AMD EPYC (OpenBLAS, one thread) at pretraining seeds 0 and 1: 0.819 and 0.675, mean 0.747
// (MERL's, above: 0.776 and 0.634, mean 0.705). The test asserts the mean above 0.65: well above
// chance, ~0.1 below the measured mean (with 500 pretraining records the mean was 0.718).
constexpr double kMelpZeroShotThreshold = 0.65;

TEST_F(ZeroShot, MelpPretrainingGivesZeroShotAurocWellAboveChanceAndLinearProbes) {
    std::string experiment = kSyntheticExperiment;
    const std::string merl = R"(plugin = "merl")";
    experiment.replace(experiment.find(merl), merl.size(), R"(plugin = "melp")");
    experiment += R"(
[[evaluation]]
task = "linear_probe"
datasets = ["heldout"]
)";
    const auto start = std::chrono::steady_clock::now();
    const auto run = ecgbench("run " + write("melp.toml", experiment));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(run.exit_code, 0) << run.output;
    SQLite::Database db(store_);
    auto mean_of = [&](const std::string& task) {
        SQLite::Statement q(db, "SELECT COUNT(*), AVG(value) FROM results WHERE metric = 'macro_auroc' AND split = 'test' AND task = ?");
        q.bind(1, task);
        q.executeStep();
        EXPECT_EQ(q.getColumn(0).getInt(), 2) << task;
        return q.getColumn(1).getDouble();
    };
    const double zero_shot = mean_of("zero_shot"), probe = mean_of("linear_probe");
    std::printf("melp, mean of seeds 0 and 1: zero-shot test macro AUROC %.3f, linear probe %.3f (%.0f s)\n", zero_shot, probe,
                seconds);
    EXPECT_GT(zero_shot, kMelpZeroShotThreshold);
    EXPECT_GT(probe, 0.6);
    // Every level contributed: the pretraining stored the three terms and the detected beats.
    for (const char* level : {"rhythm", "beat", "token"})
        EXPECT_GT(db.execAndGet(std::string("SELECT MIN(value) FROM metrics WHERE name = 'final_loss/") + level + "'").getDouble(), 0.0)
            << level;
    EXPECT_GT(db.execAndGet("SELECT MIN(value) FROM metrics WHERE name = 'final_loss/beats'").getDouble(), 1.5);
    EXPECT_GT(db.execAndGet("SELECT MIN(value) FROM metrics WHERE name = 'final_loss/beat_pairs'").getDouble(), 0.9);
}

TEST_F(ZeroShot, MerlOrMelpOnADatasetWithoutReportsIsRefusedAtPlanNamingIt) {
    const auto synth = ecgbench("synth --out " + (dir_ / "wfdb").string() + " --records 12 --seed 3");
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    for (const std::string method : {"merl", "melp"}) {
        const auto plan = ecgbench("plan " + write("bare-" + method + ".toml", R"(
[experiment]
name = "bare"

[[dataset]]
name = "no-reports"
plugin = "wfdb_folder"
params = { path = ")" + (dir_ / "wfdb").string() + R"(", sampling_rate = 100.0, duration_s = 10.0 }

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = ")" + method + R"("

[pretrain]
datasets = ["no-reports"]
)"));
        EXPECT_EQ(plan.exit_code, 2) << plan.output;
        EXPECT_NE(plan.output.find("SSL method '" + method + "' (plugin '" + method +
                                   "') needs 'texts', which pretraining dataset 'no-reports'"),
                  std::string::npos)
            << plan.output;
    }
}

TEST_F(ZeroShot, MerlPretrainsOnRealPtbxlReports) {
    const fs::path ptbxl = fs::path(ECGBENCH_SHARED_DATA) / "ptbxl";
    if (!fs::exists(ptbxl / "ptbxl_database.csv")) GTEST_SKIP() << "PTB-XL not found in " << ptbxl << ": real-report MERL test not run";
    const auto run = ecgbench("run " + write("ptbxl.toml", R"(
[experiment]
name = "merl-ptbxl"

[[dataset]]
name = "ptbxl"
plugin = "ptbxl"
params = { path = ")" + ptbxl.string() + R"(" }

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "merl"
params = { vocab_size = 500, text_width = 64, text_layers = 1, proj_dim = 64 }

[pretrain]
datasets = ["ptbxl"]
epochs = 2
batch_size = 32

[[evaluation]]
task = "zero_shot"
datasets = ["ptbxl"]
params = { bootstrap_resamples = 0 }
)"));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    SQLite::Database db(store_);
    const double cma = db.execAndGet("SELECT value FROM metrics WHERE name = 'final_loss/cma'").getDouble();
    EXPECT_TRUE(std::isfinite(cma) && cma > 0) << cma;
    // The zero-shot cell ran on the German-report tokenizer with the superclasses' descriptions.
    EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM results WHERE metric = 'macro_auroc' AND split = 'test'").getInt(), 1);
}

}  // namespace
