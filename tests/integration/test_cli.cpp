// End-to-end: the real `ecgbench` binary on a tiny experiment, checked through the SQLite store.
#include "ecgbench/wfdb.hpp"
#include "store/store.hpp"
#include "support/command.hpp"
#include "support/flip_bytes.hpp"
#include "ecgbench/sha256.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kBinary = std::string(ECGBENCH_BINARY_DIR) + "/ecgbench";
const std::string kThrowingPlugin = std::string(ECGBENCH_TEST_PLUGIN_DIR) + "/throwing_task";
const std::string kMethodAndTaskPlugin = std::string(ECGBENCH_TEST_PLUGIN_DIR) + "/method_and_task";

using test_support::CommandResult;
using test_support::run_command;

// A tiny experiment: small synthetic cohorts, the XS ResNet, SimCLR vs random init, one epoch,
// a linear probe on a held-out site and a task that always throws.
std::string tiny_experiment(const std::string& name, int epochs, int records, bool with_failing_task) {
    std::string toml = R"(
[experiment]
name = ")" + name + R"("

[[dataset]]
name = "pre"
plugin = "synthetic"
params = { seed = 1, records = )" + std::to_string(records) + R"(, records_per_subject = 2, duration_s = 2.5 }

[[dataset]]
name = "heldout"
plugin = "synthetic"
leads = ["I", "II", "V1", "V2", "V5", "aVF", "III", "aVR", "aVL", "V3", "V4", "V6"]
params = { seed = 2, records = 160, records_per_subject = 2, site = 1, duration_s = 2.5 }

[[encoder]]
name = "resnet-xs"
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "simclr"

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["pre"]
seeds = [0]
epochs = )" + std::to_string(epochs) + R"(
batch_size = 32

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["heldout"]
)";
    if (with_failing_task) toml += R"(
[[evaluation]]
name = "broken"
task = "throwing_task"
datasets = ["heldout"]
)";
    return toml;
}

using test_support::flip_bytes;

std::string file_bytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("ecgbench-cli-" + std::to_string(rd()));
        fs::create_directories(dir_);
        store_ = (dir_ / "store.db").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string& file, const std::string& text) {
        const auto path = (dir_ / file).string();
        std::ofstream(path) << text;
        return path;
    }
    CommandResult ecgbench(const std::string& args) {
        return run_command(kBinary + " --store " + store_ + " --plugin-dir " + kThrowingPlugin + " --plugin-dir " +
                           kMethodAndTaskPlugin + " " + args);
    }
    std::int64_t count(const std::string& sql) {
        SQLite::Database db(store_);
        db.setBusyTimeout(30000);  // a child process may be writing
        return db.execAndGet(sql).getInt64();
    }
    std::string text(const std::string& sql) {
        SQLite::Database db(store_);
        return db.execAndGet(sql).getString();
    }

    fs::path dir_;
    std::string store_;
};

}  // namespace

TEST_F(Cli, RunsRecordsSkipsAndReportsFailures) {
    const auto file = write("tiny.toml", tiny_experiment("tiny", 1, 96, true));
    auto first = ecgbench("run " + file);
    // One evaluation cell fails on purpose, so the exit code is 1, but the rest ran.
    ASSERT_EQ(first.exit_code, 1) << first.output;
    EXPECT_NE(first.output.find("FAILED: throwing_task: deliberate failure"), std::string::npos) << first.output;

    // 2 pretraining cells + 2×2 evaluation cells, every one with exactly one run.
    EXPECT_EQ(count("SELECT COUNT(*) FROM cells"), 6);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 6);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 4);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'failed' AND error LIKE '%deliberate failure%'"), 2);
    // Each probe reports a test macro AUROC in [0, 1] with a bootstrap CI around it.
    EXPECT_EQ(count("SELECT COUNT(*) FROM results WHERE metric = 'macro_auroc' AND split = 'test' AND value BETWEEN 0 AND 1 "
                    "AND ci_low <= value AND value <= ci_high"), 2);
    // Checkpoints exist with a recorded digest, and every result row can be traced to one.
    EXPECT_EQ(count("SELECT COUNT(*) FROM artifacts WHERE kind = 'checkpoint' AND length(sha256) = 64"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM provenance WHERE checkpoint_sha256 IS NULL"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE git_commit = '' OR host = ''"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM cells WHERE kind = 'eval' AND json_extract(config, '$.dataset.fingerprint') IS NULL"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'eval' AND r.status = 'finished' "
                    "AND json_array_length(json_extract(r.extra, '$.leads')) = 12"), 2);
    // Each probe stored its per-record test logits (one row per test record, compressed, hashed).
    EXPECT_EQ(count("SELECT COUNT(*) FROM record_outputs o JOIN metrics m ON m.run_id = o.run_id AND m.name = 'records' "
                    "AND m.split = 'test' WHERE o.kind = 'logits' AND o.records = m.value AND length(o.sha256) = 64"), 2);
    // Pretraining records whether it read labels, and its loss per epoch.
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'pretrain' "
                    "AND json_extract(r.extra, '$.uses_labels') = 0"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM metrics WHERE name = 'loss/epoch1' AND split = 'train'"), 1);

    // A re-run skips the finished cells (no new runs for them) and retries only the failed ones.
    auto second = ecgbench("run " + file);
    EXPECT_EQ(second.exit_code, 1) << second.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 4);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 8);
    EXPECT_NE(second.output.find("0 ran, 4 already finished, 2 failed"), std::string::npos) << second.output;

    auto plan = ecgbench("plan " + file);
    EXPECT_EQ(plan.exit_code, 0) << plan.output;
    EXPECT_NE(plan.output.find("4 finished"), std::string::npos) << plan.output;
    EXPECT_NE(plan.output.find("2 failed"), std::string::npos) << plan.output;

    auto status = ecgbench("status " + file);
    EXPECT_NE(status.output.find("deliberate failure"), std::string::npos) << status.output;

    const auto out = (dir_ / "report").string();
    auto report = ecgbench("report tiny --out " + out);
    ASSERT_EQ(report.exit_code, 0) << report.output;
    std::ifstream md(out + "/report.md");
    const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("| pre | resnet-xs | simclr |"), std::string::npos) << text;
    EXPECT_NE(text.find("| pre | resnet-xs | random_init |"), std::string::npos) << text;
    EXPECT_TRUE(fs::exists(out + "/results.csv"));

    // The SimCLR encoder as TorchScript: the export reloads it and compares with the C++ encoder.
    SQLite::Database db(store_);
    const std::string simclr = db.execAndGet("SELECT hash FROM cells WHERE kind = 'pretrain' AND ssl = 'simclr'").getString();
    const auto exported = ecgbench("export " + simclr.substr(0, 8) + " --out " + (dir_ / "encoder.pt").string());
    ASSERT_EQ(exported.exit_code, 0) << exported.output;
    EXPECT_NE(exported.output.find("max abs difference"), std::string::npos) << exported.output;
    EXPECT_NE(ecgbench("export 00000000 --out " + (dir_ / "x.pt").string()).output.find("no pretraining cell 00000000"), std::string::npos);
    // Python side, with Debian's python3-torch when installed: torch.jit.load gives the same embeddings.
    if (run_command("python3 -c 'import torch'").exit_code != 0) {
        std::cout << "(Python check of the exported encoder not run: python3-torch is not installed)\n";
    } else {
        const auto python = run_command("python3 -c \"import torch; m = torch.jit.load('" + (dir_ / "encoder.pt").string() +
                                        "'); d = (m(m.example_input) - m.example_output).abs().max().item(); print('diff', d); "
                                        "assert d <= 1e-5\"");
        EXPECT_EQ(python.exit_code, 0) << python.output;
    }
}

// An [[ssl]] entry's own budget reaches its training loop: SimCLR trains 2 epochs where [pretrain]
// says 1, and its cell's identity carries them.
TEST_F(Cli, AMethodsOwnBudgetIsTheOneItTrainsWith) {
    std::string toml = tiny_experiment("budget", 1, 96, false);
    const std::string simclr = "plugin = \"simclr\"\n";
    toml.replace(toml.find(simclr), simclr.size(), simclr + "pretrain = { epochs = 2 }\n");
    const auto run = ecgbench("run " + write("budget.toml", toml));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM metrics m JOIN runs r ON r.id = m.run_id JOIN cells c ON c.hash = r.cell_hash "
                    "WHERE c.ssl = 'simclr' AND m.name IN ('loss/epoch1', 'loss/epoch2')"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM metrics WHERE name = 'loss/epoch3'"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM cells WHERE kind = 'pretrain' AND json_extract(config, '$.budget.epochs') = 2 AND ssl = 'simclr'"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM cells WHERE kind = 'pretrain' AND json_extract(config, '$.budget.epochs') = 1 AND ssl = 'random_init'"), 1);
}

TEST_F(Cli, ForceRedoesFinishedCells) {
    const auto file = write("tiny.toml", tiny_experiment("forced", 1, 64, false));
    ASSERT_EQ(ecgbench("run --quiet " + file).exit_code, 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 4);
    ASSERT_EQ(ecgbench("run --quiet --force " + file).exit_code, 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 8);
}

TEST_F(Cli, ConfigErrorsNameTheLocationAndKeepTheStore) {
    const auto good = write("good.toml", tiny_experiment("kept", 1, 64, false));
    ASSERT_EQ(ecgbench("run --quiet " + good).exit_code, 0);
    const auto before = count("SELECT COUNT(*) FROM metrics");

    auto text = tiny_experiment("bad", 1, 64, false);
    text.replace(text.find("plugin = \"simclr\""), 17, "plugin = \"simclar\"");
    const auto bad = write("bad.toml", text);
    auto result = ecgbench("run " + bad);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.output.find("bad.toml:"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("did you mean 'simclr'"), std::string::npos) << result.output;

    const auto broken = write("broken.toml", "[experiment\nname = 1\n");
    result = ecgbench("run " + broken);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.output.find("broken.toml:1:"), std::string::npos) << result.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM metrics"), before);
}

TEST_F(Cli, InterruptAndKillLoseOnlyTheCellInFlight) {
    // Long enough to be caught mid-training, short enough for a test.
    const auto file = write("long.toml", tiny_experiment("interrupted", 40, 256, false));
    auto start_and_wait_for_training = [&]() {
        fs::remove(dir_ / "child.log");  // a log left by an earlier child must not count
        const pid_t pid = fork();
        if (pid == 0) {
            const std::string log = (dir_ / "child.log").string();
            freopen(log.c_str(), "w", stdout);
            execl(kBinary.c_str(), kBinary.c_str(), "--store", store_.c_str(), "run", file.c_str(), (char*)nullptr);
            _exit(127);
        }
        // Wait until the child reports its first pretraining cell: it prints that line after
        // claiming the cell. Watching its log rather than the store keeps this test from touching
        // the database while the child is still creating it.
        const auto log = dir_ / "child.log";
        for (int i = 0; i < 600; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            std::ifstream in(log);
            const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (text.find(" pretrain ") != std::string::npos) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        return pid;
    };

    // SIGINT: the in-flight cell is recorded as killed and the process exits with 130.
    pid_t pid = start_and_wait_for_training();
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 130);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'killed' AND error = 'interrupted by signal'"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'running'"), 0);

    // SIGKILL: nothing is written; the next claimant finds the dead process and marks its run killed.
    pid = start_and_wait_for_training();
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'running'"), 1);
    SQLite::Database db(store_);
    ecgbench::Store store(store_);
    const auto hash = db.execAndGet("SELECT cell_hash FROM runs WHERE status = 'running'").getString();
    ecgbench::RunProvenance me{"", getpid(), "test", "{}", "{}", "{}"};
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    me.host = host;
    const auto claim = store.claim(hash, me, false);
    EXPECT_EQ(claim.result, ecgbench::Claim::Result::Claimed);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'killed' AND error LIKE '%died mid-run%'"), 1);
}

// A pretraining killed mid-run resumes from its last resume state (written every N steps) instead of
// starting over; the unit tests show the resumed result equals an uninterrupted one.
TEST_F(Cli, KilledPretrainingResumesFromItsLastState) {
    std::string toml = tiny_experiment("resumed", 12, 256, false);
    toml.replace(toml.find("batch_size = 32"), 15, "batch_size = 32\ncheckpoint_every = 5");
    const std::string random_init = "[[ssl]]\nplugin = \"random_init\"\n";
    toml.erase(toml.find(random_init), random_init.size());
    const auto file = write("resume.toml", toml);
    const pid_t pid = fork();
    if (pid == 0) {
        freopen((dir_ / "child.log").c_str(), "w", stdout);
        execl(kBinary.c_str(), kBinary.c_str(), "--store", store_.c_str(), "run", file.c_str(), (char*)nullptr);
        _exit(127);
    }
    const auto checkpoints = dir_ / "checkpoints";
    bool state_written = false;
    for (int i = 0; i < 1200 && !state_written; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(checkpoints, ec))
            if (entry.path().string().ends_with(".resume.pt")) state_written = true;
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(state_written) << "no resume state appeared";

    const auto second = ecgbench("run " + file);
    ASSERT_EQ(second.exit_code, 0) << second.output;
    EXPECT_NE(second.output.find("resuming from the state an interrupted run left"), std::string::npos) << second.output;
    EXPECT_NE(second.output.find("(resumed at step "), std::string::npos) << second.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'pretrain' AND r.status = 'finished' "
                    "AND json_extract(r.extra, '$.resumed_from_step') >= 5"), 1);
    // The resumed run ends with all 12 epochs summarised, the ones before the kill included.
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN metrics m ON m.run_id = r.id AND m.name = 'steps' WHERE r.status = 'finished' "
                    "AND m.value > json_extract(r.extra, '$.resumed_from_step')"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM metrics WHERE name = 'loss/epoch1' OR name = 'loss/epoch12'"), 2);
    for (const auto& entry : fs::directory_iterator(checkpoints)) EXPECT_FALSE(entry.path().string().ends_with(".resume.pt"));
}

// Capabilities: a task that needs what no plugin of the matrix provides is refused at plan, naming
// the file, line and capability; one library registering a method and the task reading its state
// back from the checkpoint runs end to end.
TEST_F(Cli, CapabilitiesAreCheckedAtPlanAndMethodStateReachesTasks) {
    std::string toml = tiny_experiment("tower", 1, 64, false);
    toml += "\n[[evaluation]]\nname = \"tower\"\ntask = \"tower_task\"\ndatasets = [\"heldout\"]\n";
    const auto refused_file = write("refused.toml", toml);
    const auto refused = ecgbench("plan " + refused_file);
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("refused.toml:"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find("evaluation 'tower' (plugin 'tower_task') needs 'tower'"), std::string::npos) << refused.output;

    // Only the method that provides the tower: now every cell can run.
    toml.replace(toml.find("plugin = \"simclr\""), 17, "plugin = \"tower_method\"");
    const std::string random_init = "[[ssl]]\nplugin = \"random_init\"\n";
    toml.erase(toml.find(random_init), random_init.size());
    const auto run = ecgbench("run " + write("tower.toml", toml));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM results WHERE metric = 'tower_marker' AND value = 42 AND higher_is_better = 0"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM metrics WHERE name = 'final_loss/square'"), 1);
}

// The README's three plugin examples (tests/plugins/readme_*.cpp) pretrain and evaluate together.
TEST_F(Cli, ReadmeExamplePluginsRunEndToEnd) {
    std::string toml = tiny_experiment("readme", 1, 64, false);
    toml.replace(toml.find("plugin = \"resnet1d\"\nparams = { size = \"XS\" }"), 44, "plugin = \"tinycnn\"");
    toml.replace(toml.find("plugin = \"simclr\""), 17, "plugin = \"vicreg_mini\"\nparams = { expander_dim = 32 }");
    toml.replace(toml.find("task = \"linear_probe\""), 21, "task = \"nearest_centroid\"");
    const auto file = write("readme.toml", toml);
    const std::string cases = std::string(ECGBENCH_TEST_PLUGIN_DIR);
    const auto run = run_command(kBinary + " --store " + store_ + " --plugin-dir " + cases + "/readme_tinycnn --plugin-dir " + cases +
                                 "/readme_vicreg --plugin-dir " + cases + "/readme_nearest_centroid run " + file);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM results WHERE metric = 'macro_auroc' AND split = 'test' AND value BETWEEN 0 AND 1"), 2);
    for (const char* term : {"invariance", "variance", "covariance"})
        EXPECT_EQ(count(std::string("SELECT COUNT(*) FROM metrics WHERE name = 'loss/") + term + "/epoch1'"), 1) << term;
    EXPECT_EQ(count("SELECT COUNT(*) FROM record_outputs WHERE kind = 'scores' AND records > 0"), 2);
}

TEST_F(Cli, TwoProcessesOnOneStoreNeverRunACellTwice) {
    const auto file = write("shared.toml", tiny_experiment("shared", 2, 96, false));
    const std::string command = kBinary + " --store " + store_ + " run --quiet " + file + " > /dev/null 2>&1";
    // Both start together; each cell is claimed by exactly one of them, the other skips it.
    const int status = std::system(("(" + command + " & " + command + " & wait)").c_str());
    ASSERT_EQ(status, 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'running'"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM (SELECT cell_hash FROM runs GROUP BY cell_hash HAVING COUNT(*) > 1)"), 0);
    // Whatever one process skipped because the other held it, a later run completes, once.
    ASSERT_EQ(ecgbench("run --quiet " + file).exit_code, 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 4);
    EXPECT_EQ(count("SELECT COUNT(*) FROM (SELECT cell_hash FROM runs WHERE status = 'finished' GROUP BY cell_hash HAVING COUNT(*) > 1)"), 0);
}

TEST_F(Cli, NanSignalsFailTheirCellsWithTheDatasetNamed) {
    const auto file = write("nan.toml", R"(
[experiment]
name = "nan"

[[dataset]]
name = "broken-data"
plugin = "nan_dataset"

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "simclr"

[pretrain]
datasets = ["broken-data"]
epochs = 1
batch_size = 8

[[evaluation]]
task = "linear_probe"
datasets = ["broken-data"]
)");
    const auto result = run_command(kBinary + " --store " + store_ + " --plugin-dir " + ECGBENCH_TEST_PLUGIN_DIR +
                                    "/nan_dataset run " + file);
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'pretrain' AND "
                    "r.status = 'failed' AND r.error LIKE '%dataset ''broken-data'' train split: record ''r3'' has NaN or infinite samples%'"), 1);
    // The evaluation that needed that encoder fails too, saying why.
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'eval' AND "
                    "r.status = 'failed' AND r.error LIKE 'pretraining cell % failed: %NaN%'"), 1);
}

TEST_F(Cli, RecordsADatasetDropsAreStored) {
    // A folder of WFDB records, one too short for the requested window.
    namespace wfdb = ecgbench::wfdb;
    const auto folder = dir_ / "records";
    for (int r = 0; r < 9; ++r) {
        wfdb::Header header;
        header.fs = 100;
        std::vector<std::vector<std::int32_t>> samples;
        for (const char* lead : {"I", "II"}) {
            wfdb::SignalInfo signal;
            signal.gain = 200;
            signal.gain_given = true;
            signal.units = "mV";
            signal.description = lead;
            header.signals.push_back(signal);
            samples.emplace_back(r == 4 ? 50 : 300, 0);
            for (std::size_t t = 0; t < samples.back().size(); ++t)
                samples.back()[t] = static_cast<std::int32_t>((t * 37 + r * 11) % 400) - 200;
        }
        fs::create_directories(folder);
        wfdb::write_record(folder / ("rec" + std::to_string(r)), header, samples, 16);
    }
    const auto file = write("folder.toml", R"(
[experiment]
name = "folder"

[[dataset]]
name = "mine"
plugin = "wfdb_folder"
params = { path = ")" + folder.string() + R"(", sampling_rate = 100.0, duration_s = 2.0 }

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["mine"]
)");
    const auto result = ecgbench("run " + file);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM dropped_records WHERE dataset = 'wfdb_folder' AND record = 'rec4' "
                    "AND reason LIKE 'too short%'"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM dropped_records"), 1);
}

TEST_F(Cli, DeclaredPreprocessingFeedsTheCellsAndIsRecorded) {
    // Pretraining data at 200 Hz resampled to 100 Hz and cut into 2 s windows; the held-out data
    // is native 100 Hz. Without the resample step the rates would not match.
    const auto file = write("pre.toml", R"(
[experiment]
name = "pre"

[[dataset]]
name = "fast"
plugin = "synthetic"
params = { seed = 3, records = 60, sampling_rate = 200.0, duration_s = 4.0 }
preprocess = [{ step = "resample", hz = 100 }, { step = "bandpass", low_hz = 0.5, high_hz = 40.0 },
              { step = "window", seconds = 2.0, stride_s = 1.0 }]

[[dataset]]
name = "heldout"
plugin = "synthetic"
params = { seed = 4, records = 90, duration_s = 2.0 }
preprocess = [{ step = "standardise" }]

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["fast"]

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["heldout"]
)");
    const auto result = ecgbench("run " + file);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 2);
    // The pipeline is part of the cells' identity and of each run's provenance.
    EXPECT_EQ(count("SELECT COUNT(*) FROM cells WHERE kind = 'pretrain' AND "
                    "json_extract(config, '$.dataset.preprocess[0].params.hz') = 100 AND "
                    "json_extract(config, '$.dataset.sampling_rate_hz') = 100"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'eval' AND "
                    "json_extract(r.extra, '$.preprocessing') LIKE '%ecgbench pipeline: standardise%'"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM results WHERE metric = 'macro_auroc' AND split = 'test'"), 1);
    // Processed splits were cached beside the store: train of "fast"; train, val, test of "heldout".
    int shards = 0, windowed = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / "cache")) {
        shards += fs::exists(entry.path() / "meta.txt");
        // The windowed train split keeps which record each window came from, numbered across the
        // whole split: 3 windows (2 s every 1 s of 4 s) per record.
        std::ifstream in(entry.path() / "sources.i64", std::ios::binary);
        std::vector<std::int64_t> sources(fs::file_size(entry.path() / "sources.i64") / sizeof(std::int64_t));
        in.read(reinterpret_cast<char*>(sources.data()), static_cast<std::streamsize>(sources.size() * sizeof(std::int64_t)));
        bool grouped = sources.size() > 3;
        for (std::size_t i = 0; i < sources.size(); ++i) grouped = grouped && sources[i] == static_cast<std::int64_t>(i / 3);
        windowed += grouped;
    }
    EXPECT_EQ(shards, 4);
    EXPECT_EQ(windowed, 1);
    // A second experiment on the same data reuses them (same results, no new shards).
    std::string again = R"(
[experiment]
name = "again"

[[dataset]]
name = "heldout-again"
plugin = "synthetic"
params = { seed = 4, records = 90, duration_s = 2.0 }
preprocess = [{ step = "standardise" }]

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["heldout-again"]
)";
    ASSERT_EQ(ecgbench("run " + write("again.toml", again)).exit_code, 0);
    int after = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / "cache")) after += fs::exists(entry.path() / "meta.txt");
    EXPECT_EQ(after, 4);

    // A pipeline that cannot apply is a configuration error naming the dataset; nothing runs.
    std::string bad = R"(
[experiment]
name = "bad"

[[dataset]]
name = "slow"
plugin = "synthetic"
params = { records = 30, duration_s = 2.0 }
preprocess = [{ step = "notch", hz = 60 }]

[[encoder]]
plugin = "resnet1d"

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["slow"]
)";
    const auto failure = ecgbench("run " + write("bad.toml", bad));
    EXPECT_EQ(failure.exit_code, 2) << failure.output;
    EXPECT_NE(failure.output.find("dataset 'slow': preprocess step 'notch': hz = 60 Hz is not below the Nyquist frequency (50 Hz)"),
              std::string::npos) << failure.output;
}

TEST_F(Cli, ChunkedCachingAndLoaderThreadsChangeNoResult) {
    // The same experiment twice, each with its own store and cache: splits streamed in 1 MiB chunks
    // with batches gathered on the training thread, then in 64 MiB chunks with 3 loader threads.
    // Shards and every stored metric must be identical.
    const auto file = write("same.toml", tiny_experiment("same", 1, 240, false));
    std::map<std::string, std::map<std::string, double>> metrics;
    std::map<std::string, std::map<std::string, std::string>> shards;
    for (const std::string variant : {"small", "threads"}) {
        const fs::path dir = dir_ / variant;
        fs::create_directories(dir);
        const std::string store = (dir / "store.db").string();
        const std::string flags = variant == "small" ? "--chunk-mb 1 --loader-workers 0" : "--loader-workers 3 --prefetch 2";
        const auto result = run_command(kBinary + " --threads 2 --store " + store + " run --quiet " + flags + " " + file);
        ASSERT_EQ(result.exit_code, 0) << result.output;
        SQLite::Database db(store);
        SQLite::Statement q(db, "SELECT cell_hash || '/' || metric || '/' || split, value FROM results "
                                "WHERE metric <> 'samples_per_second'");
        while (q.executeStep()) metrics[variant][q.getColumn(0).getString()] = q.getColumn(1).getDouble();
        for (const auto& entry : fs::directory_iterator(dir / "cache")) {
            std::ifstream in(entry.path() / "signals.f32", std::ios::binary);
            shards[variant][entry.path().filename().string()] = std::string((std::istreambuf_iterator<char>(in)), {});
        }
    }
    EXPECT_GT(metrics["small"].size(), 4u);
    EXPECT_EQ(metrics["small"], metrics["threads"]);
    EXPECT_EQ(shards["small"].size(), 4u);  // pre train; heldout train, val, test
    EXPECT_TRUE(shards["small"] == shards["threads"]);
}

TEST_F(Cli, CachingASplitKeepsMemoryBounded) {
    // A 1 GB train split (8,400 records of 12 x 2,500) streamed into its shard. Peak RSS of the
    // process must stay far below the split: the build holds one 64 MiB chunk at a time and hands
    // freed chunk memory back. Measured on the development VM: 342 MiB; 837 MiB without the
    // malloc_trim after each chunk.
    const auto file = write("mem.toml", R"(
[experiment]
name = "mem"

[[dataset]]
name = "big"
plugin = "synthetic"
params = { seed = 9, records = 12000, records_per_subject = 4, sampling_rate = 250.0, duration_s = 10.0 }

[[encoder]]
plugin = "resnet1d"
params = { size = "XS" }

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["big"]
)");
    const auto result = run_command(kBinary + " --threads 2 --store " + store_ + " run --quiet " + file);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);  // the largest peak among this test's finished children
    std::uintmax_t shard_bytes = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "cache"))
        if (entry.path().filename() == "signals.f32") shard_bytes += entry.file_size();
    const double peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0, shard_mib = static_cast<double>(shard_bytes) / (1 << 20);
    EXPECT_GT(shard_mib, 900.0);
    EXPECT_LT(peak_mib, 640.0) << "peak RSS " << peak_mib << " MiB while caching a " << shard_mib << " MiB split";
    std::printf("peak RSS %.0f MiB while caching a %.0f MiB split\n", peak_mib, shard_mib);
}

TEST_F(Cli, SynthWritesACohortOtherToolsRead) {
    const auto out = (dir_ / "cohort").string();
    const auto result = run_command(kBinary + " synth --out " + out + " --records 12 --seed 5 --set sampling_rate=250 --set label_set=rhythm");
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("wrote 12 records (4 subjects)"), std::string::npos) << result.output;
    std::ifstream csv(out + "/metadata.csv");
    int lines = 0;
    for (std::string line; std::getline(csv, line);) ++lines;
    EXPECT_EQ(lines, 13);  // header + one row per record
    const auto info = run_command(kBinary + " wfdb info " + out + "/synth5_0_0");
    ASSERT_EQ(info.exit_code, 0) << info.output;
    EXPECT_NE(info.output.find("Sampling frequency: 250 Hz"), std::string::npos) << info.output;
    EXPECT_NE(info.output.find("Description: V6"), std::string::npos) << info.output;
    // The same plugin parameters are accepted, and mistakes are named (exit code 2).
    const auto unknown = run_command(kBinary + " synth --out " + out + " --set snr_bd=3");
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.output.find("unknown parameter 'snr_bd' (did you mean 'snr_db'?)"), std::string::npos) << unknown.output;
    const auto range = run_command(kBinary + " synth --out " + out + " --set sampling_rate=5");
    EXPECT_EQ(range.exit_code, 2);
    EXPECT_NE(range.output.find("sampling_rate"), std::string::npos) << range.output;
}

TEST_F(Cli, ADamagedCheckpointIsPretrainedAgainAndNeverRecordedUnderItsHash) {
    // The issue's reproduction: bytes overwritten in the middle of a checkpoint, its size kept, then
    // a second experiment re-using that pretraining with another label fraction.
    const auto first = write("first.toml", tiny_experiment("first", 1, 64, false));
    ASSERT_EQ(ecgbench("run --quiet " + first).exit_code, 0);
    const std::string pretrain_of_random =
        "(SELECT hash FROM cells WHERE kind = 'pretrain' AND ssl = 'random_init')";
    const std::string path = text("SELECT a.path FROM artifacts a JOIN runs r ON r.id = a.run_id WHERE r.cell_hash = " +
                                  pretrain_of_random);
    const std::string recorded = text("SELECT a.sha256 FROM artifacts a JOIN runs r ON r.id = a.run_id WHERE r.cell_hash = " +
                                      pretrain_of_random);
    const auto size = fs::file_size(path);
    flip_bytes(path, size / 2, 64);
    ASSERT_EQ(fs::file_size(path), size);
    const std::string damaged = ecgbench::sha256_file(path);
    ASSERT_NE(damaged, recorded);
    const std::string named = "checkpoint " + path + " is damaged: its sha256 is " + damaged + ", the store recorded " + recorded;

    // `verify` lists it (exit 1) and says how it is recovered.
    const auto verify = ecgbench("verify");
    EXPECT_EQ(verify.exit_code, 1) << verify.output;
    EXPECT_NE(verify.output.find("DAMAGED  " + named), std::string::npos) << verify.output;
    EXPECT_NE(verify.output.find("1 damaged"), std::string::npos) << verify.output;
    EXPECT_NE(verify.output.find("redoes the pretraining cell"), std::string::npos) << verify.output;

    auto second_toml = tiny_experiment("second", 1, 64, false);
    second_toml.replace(second_toml.find("task = \"linear_probe\""), 21, "task = \"linear_probe\"\nlabel_fractions = [0.5]");
    const auto second = ecgbench("run " + write("second.toml", second_toml));
    ASSERT_EQ(second.exit_code, 0) << second.output;
    EXPECT_NE(second.output.find("warning: " + named), std::string::npos) << second.output;
    // The damaged pretraining cell was redone (the intact one was not), before its evaluation.
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE status = 'finished' AND cell_hash = " + pretrain_of_random), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs r JOIN cells c ON c.hash = r.cell_hash WHERE c.kind = 'pretrain' "
                    "AND c.ssl = 'simclr'"), 1);
    EXPECT_EQ(text("SELECT a.sha256 FROM artifacts a WHERE a.run_id = (SELECT MAX(id) FROM runs WHERE cell_hash = " +
                   pretrain_of_random + ")"),
              ecgbench::sha256_file(path));
    // Nothing is recorded under a hash other than that of the bytes evaluated: every evaluation's
    // provenance names its pretraining run's checkpoint, and the damaged bytes' hash appears nowhere.
    EXPECT_EQ(count("SELECT COUNT(*) FROM provenance"), 4);
    EXPECT_EQ(count("SELECT COUNT(*) FROM provenance WHERE json_extract(extra, '$.checkpoint_sha256') IS NOT checkpoint_sha256"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE extra LIKE '%" + damaged + "%'"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM provenance p JOIN cells c ON c.hash = p.cell_hash WHERE c.label_fraction = 0.5 "
                    "AND c.ssl = 'random_init' AND p.pretrain_run_id = (SELECT MAX(id) FROM runs WHERE cell_hash = " +
                    pretrain_of_random + ")"), 1);
    // Each evaluation timed reading, hashing and loading its checkpoint.
    EXPECT_EQ(count("SELECT COUNT(*) FROM timings WHERE phase = 'load_checkpoint'"), 4);
    const auto again = ecgbench("verify");
    EXPECT_EQ(again.exit_code, 0) << again.output;
    EXPECT_NE(again.output.find("all intact"), std::string::npos) << again.output;
}

TEST_F(Cli, DamagedShardsAreRebuiltNeverUsedAndVerifyListsThem) {
    const auto file = write("tiny.toml", tiny_experiment("shards", 1, 64, false));
    ASSERT_EQ(ecgbench("run --quiet " + file).exit_code, 0);
    const auto intact = ecgbench("verify");
    EXPECT_EQ(intact.exit_code, 0) << intact.output;
    EXPECT_NE(intact.output.find("checked 2 artifacts and 4 cache shards"), std::string::npos) << intact.output;
    EXPECT_NE(intact.output.find("all intact"), std::string::npos) << intact.output;

    // The shards by the size of their signals, and their original signals.
    std::vector<std::pair<std::uintmax_t, fs::path>> shards;
    for (const auto& entry : fs::directory_iterator(dir_ / "cache"))
        shards.emplace_back(fs::file_size(entry.path() / "signals.f32"), entry.path());
    std::sort(shards.begin(), shards.end());
    ASSERT_EQ(shards.size(), 4u);
    const fs::path head_damaged = shards.front().second, middle_damaged = shards.back().second;
    ASSERT_GT(shards.back().first, 3u * 65536);  // a middle beyond the edges the cheap check reads
    const std::string head_original = file_bytes(head_damaged / "signals.f32");
    const std::string middle_original = file_bytes(middle_damaged / "signals.f32");

    // Damage the cheap check sees (the first bytes): the next run that needs the shard says so and
    // rebuilds it rather than using it.
    flip_bytes(head_damaged / "signals.f32", 0, 16);
    const auto rerun = ecgbench("run --quiet --force " + file);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
    EXPECT_NE(rerun.output.find("warning: cache shard " + head_damaged.string() + " is damaged: signals.f32"), std::string::npos)
        << rerun.output;
    EXPECT_NE(rerun.output.find("rebuilding it"), std::string::npos) << rerun.output;
    EXPECT_EQ(file_bytes(head_damaged / "signals.f32"), head_original);

    // Damage inside the signals, which only a full hash sees: `verify` names the file and both
    // hashes, exits 1 and removes the shard so that it cannot be used.
    const auto size = shards.back().first;
    flip_bytes(middle_damaged / "signals.f32", size / 2, 64);
    const std::string actual = ecgbench::sha256_file((middle_damaged / "signals.f32").string());
    const auto damaged = ecgbench("verify");
    EXPECT_EQ(damaged.exit_code, 1) << damaged.output;
    EXPECT_NE(damaged.output.find("DAMAGED  cache shard " + middle_damaged.string() + " is damaged: signals.f32 has SHA-256 " +
                                  actual + ", its manifest records " + ecgbench::sha256_hex(middle_original)),
              std::string::npos) << damaged.output;
    EXPECT_NE(damaged.output.find("1 damaged"), std::string::npos) << damaged.output;
    EXPECT_FALSE(fs::exists(middle_damaged));
    const auto removed = ecgbench("verify");
    EXPECT_EQ(removed.exit_code, 0) << removed.output;
    EXPECT_NE(removed.output.find("3 cache shards"), std::string::npos) << removed.output;

    // The next run that needs it rebuilds it, identical to the original.
    ASSERT_EQ(ecgbench("run --quiet --force " + file).exit_code, 0);
    EXPECT_EQ(file_bytes(middle_damaged / "signals.f32"), middle_original);
    const auto rebuilt = ecgbench("verify");
    EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.output;
    EXPECT_NE(rebuilt.output.find("4 cache shards"), std::string::npos) << rebuilt.output;
}

// Every experiment file the README points to plans as shipped (run from the source directory, as a
// user does), so a key renamed in the harness cannot leave one broken; and ssl_comparison's
// `encoders` pairing gives the masked-token methods vit1d encoders only and the others resnet1d only.
TEST_F(Cli, ShippedExperimentsPlan) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(fs::path(ECGBENCH_SOURCE_DIR) / "experiments"))
        if (entry.path().extension() == ".toml") files.push_back(entry.path().filename().string());
    std::sort(files.begin(), files.end());
    ASSERT_GE(files.size(), 8u);
    auto plan = [&](const std::string& file) {
        return run_command("cd " + std::string(ECGBENCH_SOURCE_DIR) + " && " + kBinary + " --store " + store_ +
                           " plan experiments/" + file);
    };
    for (const auto& file : files) {
        const auto result = plan(file);
        EXPECT_EQ(result.exit_code, 0) << file << "\n" << result.output;
        EXPECT_NE(result.output.find("pretraining cells"), std::string::npos) << file << "\n" << result.output;
    }
    const auto comparison = plan("ssl_comparison.toml");
    ASSERT_EQ(comparison.exit_code, 0) << comparison.output;
    for (const char* pair : {"vit1d-S × st_mem × seed 0", "vit1d-XS × st_mem-dec64 × seed 0", "vit1d-XS × jepa-pred64",
                             "vit1d-XS × mtfp-dec64", "vit1d-S × mae × seed 1", "resnet1d-XS × heartlang",
                             "vit1d-XS × random_init", "vit1d-S × supervised", "resnet1d-XS × supervised"})
        EXPECT_NE(comparison.output.find(pair), std::string::npos) << pair;
    for (const char* pair : {"resnet1d-XS × st_mem", "resnet1d-XS × jepa", "vit1d-S × st_mem-dec64", "vit1d-XS × simclr",
                             "vit1d-S × heartlang"})
        EXPECT_EQ(comparison.output.find(pair), std::string::npos) << pair;
    EXPECT_NE(comparison.output.find("linear-probe on synth-site1 (labels 1%)"), std::string::npos);
}
