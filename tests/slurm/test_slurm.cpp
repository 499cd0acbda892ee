// `ecgbench submit --slurm` against a real single-node Slurm (tools/slurm-local.sh): the arrays run,
// their shards merge into a store equal to a local run's, and a pre-empted task (requeued, then
// SIGKILLed without grace) resumes from its last resume state with nothing lost or duplicated.
// Skipped, saying why, without root or without Slurm installed (tools/install-deps.sh --slurm).
#include "support/command.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using test_support::CommandResult;
using test_support::run_command;

namespace {

const std::string kBinary = std::string(ECGBENCH_BINARY_DIR) + "/ecgbench";

// Small synthetic cohorts, the XS ResNet, and a linear probe on a held-out site.
std::string experiment(const std::string& name, int epochs, int records, bool random_init) {
    return R"([experiment]
name = ")" + name + R"("

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = )" + std::to_string(records) + R"(, records_per_subject = 2, duration_s = 2.5 }

[[dataset]]
name = "heldout"
plugin = "synthetic"
params = { seed = 2, records = 120, records_per_subject = 2, site = 1, duration_s = 2.5 }

[[encoder]]
name = "resnet-xs"
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "simclr"
)" + (random_init ? "\n[[ssl]]\nplugin = \"random_init\"\n" : "") + R"(
[pretrain]
datasets = ["pre"]
seeds = [0]
epochs = )" + std::to_string(epochs) + R"(
batch_size = 32
checkpoint_every = 5

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["heldout"]

[slurm]
cpus = 1
time = "10:00"
)";
}

class Slurm : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root to start a local Slurm (tools/slurm-local.sh)";
        if (std::system("command -v slurmctld >/dev/null 2>&1") != 0)
            GTEST_SKIP() << "Slurm is not installed (tools/install-deps.sh --slurm)";
        const auto started = run_command("timeout 180 " + std::string(ECGBENCH_SOURCE_DIR) + "/tools/slurm-local.sh start");
        const auto at = started.output.find("export SLURM_CONF=");
        if (started.exit_code != 0 || at == std::string::npos)
            GTEST_SKIP() << "could not start the local Slurm cluster:\n" << started.output;
        std::string conf = started.output.substr(at + std::string("export SLURM_CONF=").size());
        conf = conf.substr(0, conf.find('\n'));
        ::setenv("SLURM_CONF", conf.c_str(), 1);
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("ecgbench-slurm-" + std::to_string(rd()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    std::string write(const std::string& name, const std::string& text) {
        const auto path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }
    std::string shared() const { return (dir_ / "shared").string(); }

    /// Waits until no job of the experiment is queued or running; false after `seconds`.
    bool wait_for_jobs(const std::string& name, int seconds) {
        const std::string query = "squeue -h -o %i -n ecgbench-" + name + "-pretrain,ecgbench-" + name + "-evaluate";
        for (int i = 0; i < seconds * 2; ++i) {
            const auto queued = run_command(query);
            if (queued.exit_code == 0 && queued.output.find_first_not_of(" \n") == std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        return false;
    }
    /// Every log the array tasks wrote, for failure messages.
    std::string logs() const {
        std::string all;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir_ / "shared" / "logs", ec)) {
            std::ifstream in(entry.path());
            all += "== " + entry.path().filename().string() + "\n" + std::string(std::istreambuf_iterator<char>(in), {});
        }
        return all;
    }
    CommandResult merge(const std::string& store) {
        return run_command(kBinary + " merge " + store + " " + shared() + "/shards/*.db");
    }

    fs::path dir_;
};

/// cell hash / metric / split -> value (17 significant digits) of every finished run's metrics, but
/// throughput, which measures the machine.
std::map<std::string, std::string> finished_metrics(const std::string& store) {
    SQLite::Database db(store);
    SQLite::Statement q(db, "SELECT r.cell_hash || ' ' || m.name || ' ' || m.split, printf('%.17g', m.value) FROM runs r "
                            "JOIN metrics m ON m.run_id = r.id WHERE r.status = 'finished' AND m.name != 'samples_per_second'");
    std::map<std::string, std::string> values;
    while (q.executeStep()) values[q.getColumn(0).getString()] = q.getColumn(1).getString();
    return values;
}

std::int64_t count(const std::string& store, const std::string& sql) {
    SQLite::Database db(store);
    return db.execAndGet(sql).getInt64();
}

}  // namespace

// Submitted as arrays (2 pretraining tasks, 2 evaluation tasks after them), merged: the same cells
// and, bit for bit, the same metrics as one local `ecgbench run` (same seeds, same thread count, CPU),
// so the local store itself merges in as the same results.
TEST_F(Slurm, ArraysMergeToTheLocalRunsResults) {
    const auto file = write("arrays.toml", experiment("slurm-arrays", 1, 96, true));
    const std::string main_store = (dir_ / "main.db").string();
    const auto dry = run_command(kBinary + " --store " + main_store + " submit " + file + " --slurm --dry-run --shared " + shared());
    ASSERT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_NE(dry.output.find("#SBATCH --array=0-1"), std::string::npos) << dry.output;
    EXPECT_NE(dry.output.find("--dependency=aftercorr:"), std::string::npos) << dry.output;
    EXPECT_NE(dry.output.find("#SBATCH --cpus-per-task=1"), std::string::npos) << dry.output;
    EXPECT_FALSE(fs::exists(shared())) << "--dry-run wrote files";

    const auto submitted = run_command(kBinary + " --store " + main_store + " submit " + file + " --slurm --shared " + shared());
    ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
    const std::string local_store = (dir_ / "local" / "store.db").string();
    const auto local = run_command(kBinary + " --threads 1 --store " + local_store + " run " + file);
    ASSERT_EQ(local.exit_code, 0) << local.output;
    ASSERT_TRUE(wait_for_jobs("slurm-arrays", 120)) << "the arrays did not finish in 120 s\n" << logs();

    const auto merged = merge(main_store);
    ASSERT_EQ(merged.exit_code, 0) << merged.output << logs();
    const auto again = merge(main_store);
    ASSERT_EQ(again.exit_code, 0) << again.output;
    // Nothing new the second time: "merged SHARD: 0 cells and 0 runs added, …" for each of the 4 shards.
    std::size_t unchanged = 0;
    for (std::size_t at = 0; (at = again.output.find(": 0 cells and 0 runs added,", at)) != std::string::npos; ++at) ++unchanged;
    EXPECT_EQ(unchanged, 4u) << again.output;
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs"), 4) << logs();
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 4);
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash "
                                "JOIN runs p ON p.id = r.pretrain_run_id AND p.cell_hash = c.parent_hash WHERE c.kind = 'eval'"),
              2);  // each evaluation is linked to its pretraining run's copy
    const auto expected = finished_metrics(local_store);
    EXPECT_GT(expected.size(), 8u);
    EXPECT_EQ(finished_metrics(main_store), expected) << logs();
    // The local run's store merges in as the same results (same checkpoint bytes, same metrics).
    const auto local_merged = run_command(kBinary + " merge " + main_store + " " + local_store);
    ASSERT_EQ(local_merged.exit_code, 0) << local_merged.output;
    EXPECT_NE(local_merged.output.find("0 runs added, 0 runs already present, 4 with the same result kept once"), std::string::npos)
        << local_merged.output;
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs"), 4);

    const auto report = run_command(kBinary + " --store " + main_store + " status " + file);
    EXPECT_NE(report.output.find("finished 4"), std::string::npos) << report.output;
}

// Pre-emption: the pretraining task is requeued (Slurm's SIGTERM) and SIGKILLed at once, mid-cell,
// after a resume state was written. The requeued task (SLURM_RESTART_COUNT 1) marks the dead run
// killed, resumes training from the state, and its evaluation then runs: one finished run per cell.
TEST_F(Slurm, KilledArrayTaskResumesWhenRequeued) {
    const auto file = write("preempted.toml", experiment("slurm-preempted", 12, 256, false));
    const std::string main_store = (dir_ / "main.db").string();
    const auto submitted = run_command(kBinary + " --store " + main_store + " submit " + file + " --slurm --shared " + shared());
    ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
    const auto job = submitted.output.substr(submitted.output.find("pretraining array ") + 18);
    const std::string task = job.substr(0, job.find(' ')) + "_0";

    // Mid-cell: the shard holds the running run (its pid) and a resume state exists.
    const fs::path shards = fs::path(shared()) / "shards";
    std::int64_t pid = 0;
    for (int i = 0; i < 1200 && pid == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::error_code ec;
        bool resumable = false;
        for (const auto& entry : fs::directory_iterator(shards / "checkpoints", ec))
            resumable = resumable || entry.path().string().ends_with(".resume.pt");
        if (!resumable) continue;
        for (const auto& entry : fs::directory_iterator(shards, ec))
            if (entry.path().filename().string().starts_with("pretrain-")) {
                try {
                    SQLite::Database db(entry.path().string());
                    db.setBusyTimeout(5000);
                    SQLite::Statement q(db, "SELECT pid FROM runs WHERE status = 'running'");
                    if (q.executeStep()) pid = q.getColumn(0).getInt64();
                } catch (const std::exception&) {
                }
            }
    }
    ASSERT_GT(pid, 0) << "the pretraining task never reached a resume state\n" << logs();
    ASSERT_EQ(run_command("scontrol requeue " + task).exit_code, 0);
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    // A requeued job waits ~2 minutes before it is eligible again; the test shortens that, once the
    // job is pending again and a few seconds have passed (slurmd refuses a start within the second
    // its previous credential was revoked: "Job credential revoked").
    bool pending = false;
    for (int i = 0; i < 120 && !pending; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        pending = run_command("squeue -h -o %T -j " + task).output.starts_with("PENDING");
    }
    ASSERT_TRUE(pending) << logs();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const bool released = run_command("scontrol update JobId=" + task + " StartTime=now").exit_code == 0;
    ASSERT_TRUE(released) << logs();
    ASSERT_TRUE(wait_for_jobs("slurm-preempted", 120)) << "the arrays did not finish in 120 s\n" << logs();

    const auto merged = merge(main_store);
    ASSERT_EQ(merged.exit_code, 0) << merged.output << logs();
    EXPECT_NE(logs().find("restart 1"), std::string::npos) << logs();
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash "
                                "WHERE c.kind = 'pretrain' AND r.status = 'finished' AND json_extract(r.extra, '$.resumed_from_step') >= 5"),
              1) << logs();
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 2) << logs();
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs WHERE status = 'killed'"), 1) << logs();
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs WHERE status IN ('running', 'failed')"), 0);
    // All 12 epochs are summarised once, the ones before the kill included.
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM metrics WHERE name LIKE 'loss/epoch%'"), 12);
    for (const auto& entry : fs::directory_iterator(shards / "checkpoints")) EXPECT_FALSE(entry.path().string().ends_with(".resume.pt"));
}

// What the main store has finished is not run again: random_init's cells finished locally are left
// out, simclr's pretraining finished locally seeds its task (its evaluation still runs on the
// cluster, from the seeded checkpoint), and supervised trains data-parallel on 2 ranks
// ([slurm.pretrain] ranks = 2: srun … run --distributed). Merged, every cell has one finished run.
TEST_F(Slurm, FinishedCellsAreSeededAndRanksTrainDataParallel) {
    std::string text = experiment("slurm-seeded", 1, 96, true);
    text.replace(text.find("[pretrain]"), 10, "[[ssl]]\nplugin = \"supervised\"\n\n[pretrain]");
    text += "\n[slurm.pretrain]\nranks = 2\n";
    const auto file = write("seeded.toml", text);
    const std::string main_store = (dir_ / "main.db").string();
    const std::string local = kBinary + " --threads 1 --store " + main_store + " run " + file;
    ASSERT_EQ(run_command(local + " --filter random_init").exit_code, 0);
    ASSERT_EQ(run_command(local + " --only pretrain --filter simclr").exit_code, 0);
    ASSERT_EQ(count(main_store, "SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 3);

    const auto submitted = run_command(kBinary + " --store " + main_store + " submit " + file + " --slurm --shared " + shared());
    ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
    EXPECT_NE(submitted.output.find("1 pretraining cell(s) finished in " + main_store), std::string::npos) << submitted.output;
    EXPECT_NE(submitted.output.find("1 cell(s) finished in " + main_store + " seed the tasks"), std::string::npos)
        << submitted.output;
    EXPECT_NE(submitted.output.find("pretraining array"), std::string::npos);
    EXPECT_NE(submitted.output.find("(2 tasks)"), std::string::npos) << submitted.output;
    ASSERT_TRUE(wait_for_jobs("slurm-seeded", 180)) << "the arrays did not finish in 180 s\n" << logs();

    const auto merged = merge(main_store);
    ASSERT_EQ(merged.exit_code, 0) << merged.output << logs();
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs"), 6) << logs();
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 6) << logs();
    EXPECT_EQ(count(main_store, "SELECT COUNT(DISTINCT cell_hash) FROM runs WHERE status = 'finished'"), 6);
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash "
                                "WHERE c.ssl = 'supervised' AND c.kind = 'pretrain' AND json_extract(r.extra, '$.processes') = 2"),
              1) << logs();
    // simclr's evaluation ran on the cluster against the one pretraining run, the local one.
    EXPECT_EQ(count(main_store, "SELECT COUNT(*) FROM runs e JOIN cells c ON c.hash = e.cell_hash JOIN runs p "
                                "ON p.id = e.pretrain_run_id AND p.cell_hash = c.parent_hash "
                                "WHERE c.kind = 'eval' AND c.ssl = 'simclr' AND e.status = 'finished'"),
              1) << logs();
}
