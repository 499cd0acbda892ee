// The paper experiments (experiments/papers/) through the real `ecgbench` binary:
//  - as written, every one names real data under data/ (absent here: `plan` says which folder, at
//    which line), and plans with `--profile synthetic`;
//    an unknown profile is an error listing the file's profiles;
//  - every one runs end to end on its synthetic profile (tiny), each cell finished;
//  - the PTB-XL benchmark's report prints ours beside the published values (published.csv: every
//    xresnet1d101 value has our number and the difference, the other model rows are context);
//  - the PTB-XL benchmark's shared-data profile runs one label set on the 250 real PTB-XL records of
//    ../shared/data (skipped with a message when absent).
// One thread (--threads 1), so the numbers do not depend on the core count.
#include "support/command.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

class Papers : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("ecgbench-papers-" + std::to_string(rd()));
        fs::create_directories(dir_);
        store_ = (dir_ / "store.db").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Runs from the source directory, as a user does, so the files' relative paths hold.
    test_support::CommandResult ecgbench(const std::string& args) const {
        return test_support::run_command("cd " + std::string(ECGBENCH_SOURCE_DIR) + " && " + ECGBENCH_BINARY_DIR +
                                         "/ecgbench --threads 1 --store " + store_ + " " + args);
    }
    static std::vector<std::string> paper_files() {
        std::vector<std::string> files;
        for (const auto& entry : fs::directory_iterator(fs::path(ECGBENCH_SOURCE_DIR) / "experiments" / "papers")) {
            const std::string name = entry.path().filename().string();
            if (entry.path().extension() == ".toml" && name.find(".published.") == std::string::npos)
                files.push_back("experiments/papers/" + name);
        }
        std::sort(files.begin(), files.end());
        return files;
    }
    int count(const std::string& sql) const {
        SQLite::Database db(store_);
        return db.execAndGet(sql).getInt();
    }

    fs::path dir_;
    std::string store_;
};

TEST_F(Papers, EachPlansAsWrittenAndOnItsSyntheticProfile) {
    const auto files = paper_files();
    ASSERT_GE(files.size(), 6u);
    for (const auto& file : files) {
        // As written they name the real data (data/...), absent here: a clear error naming the file's line.
        const auto as_written = ecgbench("plan " + file);
        EXPECT_EQ(as_written.exit_code, 2) << file << "\n" << as_written.output;
        EXPECT_NE(as_written.output.find(file + ":"), std::string::npos) << as_written.output;
        EXPECT_NE(as_written.output.find("is not a folder"), std::string::npos) << as_written.output;
        const auto synthetic = ecgbench("plan " + file + " --profile synthetic --json");
        EXPECT_EQ(synthetic.exit_code, 0) << file << "\n" << synthetic.output;
        EXPECT_NE(synthetic.output.find("-synthetic\""), std::string::npos) << file << ": the profile renames the experiment";
    }
    const auto unknown = ecgbench("plan experiments/papers/ptbxl_benchmark.toml --profile nope");
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.output.find("no [profile.nope] in this file (profiles: shared-data, synthetic)"), std::string::npos)
        << unknown.output;
}

TEST_F(Papers, EachRunsEndToEndOnItsSyntheticProfile) {
    for (const auto& file : paper_files()) {
        const auto run = ecgbench("run " + file + " --profile synthetic --quiet");
        EXPECT_EQ(run.exit_code, 0) << file << "\n" << run.output;
        EXPECT_NE(run.output.find(" 0 failed"), std::string::npos) << file << "\n" << run.output;
    }
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status != 'finished'"), 0);
    EXPECT_EQ(count("SELECT COUNT(DISTINCT experiment) FROM results"), static_cast<int>(paper_files().size()));
}

TEST_F(Papers, ThePtbxlBenchmarkReportPrintsOursBesideThePublishedValues) {
    const auto run = ecgbench("run experiments/papers/ptbxl_benchmark.toml --profile synthetic --quiet");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const fs::path out = dir_ / "report";
    const auto report = ecgbench("report ptbxl-benchmark-synthetic --out " + out.string() +
                                 " --format md,csv --published experiments/papers/ptbxl_benchmark.published.toml");
    ASSERT_EQ(report.exit_code, 0) << report.output;
    std::ifstream csv(out / "published.csv");
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "paper,table,row,column,metric,published,interval,state,ours_mean,ours_std,ours_n,delta,ours_matched,note");
    int finished = 0, context = 0;
    while (std::getline(csv, line)) {
        if (line.find(",xresnet1d101,") != std::string::npos) {
            EXPECT_NE(line.find(",finished,"), std::string::npos) << line;
            EXPECT_NE(line.find("ptbxl-all / xresnet1d101 / random_init: end-to-end → ptbxl-"), std::string::npos) << line;
            ++finished;
        } else {
            EXPECT_NE(line.find(",no counterpart,"), std::string::npos) << line;
            ++context;
        }
    }
    EXPECT_EQ(finished, 6);  // one per label set
    EXPECT_EQ(context, 36);  // six other model rows × six label sets
    std::stringstream md;
    md << std::ifstream(out / "report.md").rdbuf();
    EXPECT_NE(md.str().find("## Published results"), std::string::npos);
    EXPECT_NE(md.str().find("42 published values, 6 with a counterpart here, 6 of those finished"), std::string::npos);
}

TEST_F(Papers, ThePtbxlBenchmarkRunsOnTheSharedPtbxlRecords) {
    const fs::path ptbxl = fs::path(ECGBENCH_SHARED_DATA) / "ptbxl";
    if (!fs::exists(ptbxl / "ptbxl_database.csv"))
        GTEST_SKIP() << "PTB-XL sample not found at " << ptbxl << " (configure with -DECGBENCH_SHARED_DATA=...)";
    // The profile points at ../shared/data; the --set after it at wherever the data is configured.
    const auto run = ecgbench("run experiments/papers/ptbxl_benchmark.toml --profile shared-data --filter superdiagnostic --quiet "
                              "--set 'dataset.ptbxl-all.params.path=\"" + ptbxl.string() + "\"' "
                              "--set 'dataset.ptbxl-superdiagnostic.params.path=\"" + ptbxl.string() + "\"'");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM results WHERE experiment = 'ptbxl-benchmark-shared-data' AND metric = 'macro_auroc' "
                    "AND split = 'test' AND eval_dataset = 'ptbxl-superdiagnostic'"),
              1);
}

}  // namespace
