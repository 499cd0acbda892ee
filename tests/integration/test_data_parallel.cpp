// Data-parallel pretraining (`ecgbench run --nproc 2`, c10d Gloo): two processes, each training on
// half of every global batch with gradients averaged, must follow the loss curve of one process
// with the same global batch, and the probe on the two checkpoints must agree.
//
// The comparison is made where it can be exact up to floating-point summation order: the
// `supervised` method (no random draws in its loss) on the vit1d encoder (LayerNorm, no dropout),
// so no per-rank statistic (BatchNorm over half a batch) or per-rank random stream changes the
// mathematics. What remains is the order of float32 sums (two half-batch gradients added vs one
// full-batch reduction), which moves the losses by ~1e-6 relative; the tolerance is 1e-4.
#include "support/command.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

namespace fs = std::filesystem;

namespace {

const std::string kBinary = std::string(ECGBENCH_BINARY_DIR) + "/ecgbench";

constexpr const char* kExperiment = R"(
[experiment]
name = "data-parallel"

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = 96, records_per_subject = 2, duration_s = 2.5 }

[[dataset]]
name = "heldout"
plugin = "synthetic"
params = { seed = 2, records = 120, records_per_subject = 2, site = 1, duration_s = 2.5 }

[[encoder]]
name = "vit"
plugin = "vit1d"
params = { size = "XS" }

[[ssl]]
plugin = "supervised"

[pretrain]
datasets = ["pre"]
seeds = [0]
epochs = 3
batch_size = 16
learning_rate = 0.001

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["heldout"]
)";

class DataParallelRun : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("ecgbench-ddp-" + std::to_string(rd()));
        fs::create_directories(dir_ / "one");
        fs::create_directories(dir_ / "two");
        file_ = (dir_ / "ddp.toml").string();
        std::ofstream(file_) << kExperiment;
    }
    void TearDown() override { fs::remove_all(dir_); }

    /// Every metric of the finished runs of `kind` cells: name/split -> value.
    static std::map<std::string, double> metrics(const std::string& store, const std::string& kind) {
        SQLite::Database db(store);
        SQLite::Statement q(db, "SELECT m.name || '/' || m.split, m.value FROM metrics m JOIN runs r ON r.id = m.run_id "
                                "JOIN cells c ON c.hash = r.cell_hash WHERE r.status = 'finished' AND c.kind = ? "
                                "AND m.value IS NOT NULL");
        q.bind(1, kind);
        std::map<std::string, double> out;
        while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getDouble();
        return out;
    }

    fs::path dir_;
    std::string file_;
};

}  // namespace

TEST_F(DataParallelRun, TwoProcessesFollowOneProcessWithTheSameGlobalBatch) {
    const std::string one = (dir_ / "one" / "store.db").string(), two = (dir_ / "two" / "store.db").string();
    const auto single = test_support::run_command(kBinary + " run " + file_ + " --store " + one);
    ASSERT_EQ(single.exit_code, 0) << single.output;
    const auto parallel = test_support::run_command(kBinary + " run " + file_ + " --store " + two + " --nproc 2");
    ASSERT_EQ(parallel.exit_code, 0) << parallel.output;
    EXPECT_NE(parallel.output.find("data-parallel pretraining on 2 processes"), std::string::npos) << parallel.output;

    const auto a = metrics(one, "pretrain"), b = metrics(two, "pretrain");
    int compared = 0;
    for (const auto& [name, value] : a) {
        if (name.rfind("loss/epoch", 0) != 0 && name.rfind("final_loss", 0) != 0) continue;
        ASSERT_TRUE(b.count(name)) << name;
        EXPECT_NEAR(b.at(name), value, 1e-4 * std::abs(value)) << name;
        ++compared;
    }
    EXPECT_EQ(compared, 4);  // three epochs and the final loss
    EXPECT_EQ(a.at("steps/train"), b.at("steps/train"));  // the global batch, not the local one, sets the steps

    // The probe on the two checkpoints: the same frozen features up to rounding, so the same AUROC.
    const auto pa = metrics(one, "eval"), pb = metrics(two, "eval");
    ASSERT_TRUE(pa.count("macro_auroc/test")) << "no probe AUROC recorded";
    EXPECT_NEAR(pb.at("macro_auroc/test"), pa.at("macro_auroc/test"), 1e-3);

    // Rank 0 alone records the cells; the run says how many processes trained.
    SQLite::Database db(two);
    EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM runs").getInt64(), 2);
    EXPECT_EQ(db.execAndGet("SELECT json_extract(r.extra, '$.processes') FROM runs r JOIN cells c ON c.hash = r.cell_hash "
                            "WHERE c.kind = 'pretrain'")
                  .getInt64(),
              2);
}

TEST_F(DataParallelRun, BatchThatDoesNotSplitOverTheRanksIsACellError) {
    const std::string store = (dir_ / "two" / "store.db").string();
    const auto result = test_support::run_command(kBinary + " run " + file_ + " --store " + store + " --nproc 3");
    EXPECT_NE(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("batch_size 16 does not divide over 3 data-parallel processes"), std::string::npos)
        << result.output;
}
