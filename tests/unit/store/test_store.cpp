// Result store: round trips, schema versioning and migration, refusal of foreign files, and the claim
// protocol that keeps concurrent `ecgbench run` processes from running a cell twice.
#include "store/store.hpp"

#include "ecgbench/sha256.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace ecgbench;

namespace {

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::path(::testing::TempDir()) /
               ("ecgbench_store_" + std::to_string(::getpid()) + "_" + info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        path_ = (dir_ / "results" / "store.sqlite").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    std::string path_;
};

CellRecord pretrain_cell(const std::string& hash, std::int64_t seed = 0) {
    CellRecord cell;
    cell.hash = hash;
    cell.kind = "pretrain";
    cell.config = R"({"dataset":{"fingerprint":"fp-pre","plugin":"ptbxl"},"seed":)" + std::to_string(seed) + "}";
    cell.dataset = "ptbxl";
    cell.encoder = "resnet1d";
    cell.ssl = "simclr";
    cell.seed = seed;
    return cell;
}

CellRecord eval_cell(const std::string& hash, const std::string& parent, std::int64_t seed = 0,
                     double label_fraction = 1.0, const std::string& task = "superdiag") {
    CellRecord cell;
    cell.hash = hash;
    cell.kind = "eval";
    cell.config = R"({"dataset":{"fingerprint":"fp-eval","leads":["I","II"],"plugin":"ptbxl","sampling_rate_hz":500,"version":"1.0.3"},"label_fraction":)" +
                  std::to_string(label_fraction) + R"(,"pretrain":")" + parent + R"(","seed":)" +
                  std::to_string(seed) + R"(,"task":")" + task + R"("})";
    cell.parent_hash = parent;
    cell.dataset = "ptbxl";
    cell.encoder = "resnet1d";
    cell.ssl = "simclr";
    cell.task = task;
    cell.eval_dataset = "ptbxl";
    cell.protocol = "linear_probe";
    cell.label_fraction = label_fraction;
    cell.seed = seed;
    return cell;
}

RunProvenance provenance(const std::string& host = "host-a", std::int64_t pid = ::getpid()) {
    RunProvenance p;
    p.host = host;
    p.pid = pid;
    p.git_commit = "abc123";
    p.library_versions = R"({"ecgbench":"0.1.0","sqlite":"3.40.1"})";
    p.plugin_versions = R"({"ptbxl":"1.0.3","simclr":"0.2"})";
    p.extra = R"({"note":"test"})";
    return p;
}

// A pid that certainly names no process: a child that has exited and been reaped.
std::int64_t dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}

// Appending rather than `"c" + std::to_string(i)` sidesteps a g++ 12 -Wrestrict false positive.
std::string cell_name(int i) {
    std::string name = "c";
    name += std::to_string(i);
    return name;
}

std::string query_text(Store& store, const std::string& sql) {
    return store.database().execAndGet(sql).getString();
}

std::int64_t query_int(Store& store, const std::string& sql) {
    return store.database().execAndGet(sql).getInt64();
}

void expect_throws_naming(const std::function<void()>& body, const std::string& needle1,
                          const std::string& needle2 = "") {
    try {
        body();
        ADD_FAILURE() << "expected std::runtime_error mentioning " << needle1;
    } catch (const std::runtime_error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find(needle1), std::string::npos) << message;
        if (!needle2.empty()) {
            EXPECT_NE(message.find(needle2), std::string::npos) << message;
        }
    }
}

}  // namespace

TEST(RunStatusText, RoundTripsAndRejectsUnknown) {
    for (auto status : {RunStatus::Running, RunStatus::Finished, RunStatus::Failed, RunStatus::Killed})
        EXPECT_EQ(run_status_from_string(to_string(status)), status);
    EXPECT_STREQ(to_string(RunStatus::Killed), "killed");
    EXPECT_THROW(run_status_from_string("done"), std::invalid_argument);
}

TEST_F(StoreTest, CreatesDirectoriesAndConfiguresConnection) {
    Store store(path_);
    EXPECT_TRUE(fs::exists(path_));
    EXPECT_EQ(store.path(), path_);
    EXPECT_GE(Store::current_schema_version(), 2);
    EXPECT_EQ(store.schema_version(), Store::current_schema_version());
    EXPECT_EQ(query_text(store, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(query_int(store, "PRAGMA foreign_keys"), 1);
    EXPECT_EQ(query_int(store, "PRAGMA synchronous"), 1);  // NORMAL
    EXPECT_GE(query_int(store, "PRAGMA busy_timeout"), 10000);
    // One schema_version row per applied migration.
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM schema_version"), Store::current_schema_version());
}

TEST_F(StoreTest, ExperimentUpsertKeepsIdAndUpdatesText) {
    Store store(path_);
    const auto id = store.upsert_experiment("zeta", "experiments/zeta.toml", "a = 1");
    const auto other = store.upsert_experiment("alpha", "experiments/alpha.toml", "b = 2");
    EXPECT_NE(id, other);
    EXPECT_EQ(store.upsert_experiment("zeta", "experiments/zeta2.toml", "a = 2"), id);
    EXPECT_EQ(query_text(store, "SELECT toml_text FROM experiments WHERE name = 'zeta'"), "a = 2");
    EXPECT_EQ(query_text(store, "SELECT file FROM experiments WHERE name = 'zeta'"), "experiments/zeta2.toml");
    EXPECT_EQ(store.experiments(), (std::vector<std::string>{"alpha", "zeta"}));
}

TEST_F(StoreTest, CellsRoundTripAndAreImmutable) {
    Store store(path_);
    const auto experiment = store.upsert_experiment("e", "e.toml", "");
    const auto pre = pretrain_cell("p1", 3);
    const auto eval = eval_cell("e1", "p1", 3, 0.1);
    store.upsert_cell(experiment, pre);
    store.upsert_cell(experiment, eval);
    store.upsert_cell(experiment, eval);  // idempotent

    const auto got_pre = store.cell("p1");
    ASSERT_TRUE(got_pre);
    EXPECT_EQ(got_pre->kind, "pretrain");
    EXPECT_EQ(got_pre->config, pre.config);
    EXPECT_EQ(got_pre->parent_hash, "");
    EXPECT_EQ(got_pre->seed, 3);
    EXPECT_EQ(query_int(store, "SELECT parent_hash IS NULL FROM cells WHERE hash = 'p1'"), 1);

    const auto got = store.cell("e1");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->hash, eval.hash);
    EXPECT_EQ(got->kind, "eval");
    EXPECT_EQ(got->config, eval.config);
    EXPECT_EQ(got->parent_hash, "p1");
    EXPECT_EQ(got->dataset, eval.dataset);
    EXPECT_EQ(got->encoder, eval.encoder);
    EXPECT_EQ(got->ssl, eval.ssl);
    EXPECT_EQ(got->task, eval.task);
    EXPECT_EQ(got->eval_dataset, eval.eval_dataset);
    EXPECT_EQ(got->protocol, eval.protocol);
    EXPECT_DOUBLE_EQ(got->label_fraction, 0.1);
    EXPECT_EQ(got->seed, 3);
    EXPECT_FALSE(store.cell("nope"));
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM experiment_cells"), 2);

    auto changed = eval;
    changed.config = R"({"other":true})";
    expect_throws_naming([&] { store.upsert_cell(experiment, changed); }, path_, "e1");
    expect_throws_naming([&] { store.upsert_cell(experiment, eval_cell("e2", "missing")); }, path_, "missing");
    auto bad_kind = pretrain_cell("p2");
    bad_kind.kind = "train";
    expect_throws_naming([&] { store.upsert_cell(experiment, bad_kind); }, path_, "train");
    auto bad_json = pretrain_cell("p3");
    bad_json.config = "{not json";
    expect_throws_naming([&] { store.upsert_cell(experiment, bad_json); }, path_);
    expect_throws_naming([&] { store.upsert_cell(experiment + 100, pretrain_cell("p4")); }, path_);
}

TEST_F(StoreTest, ASharedCellCarriesEachExperimentsOwnNames) {
    // Two experiments declare the same evaluation (same configuration, so the same cell) under
    // different names: each one's results and eval cells show its own names, not the first's.
    Store store(path_);
    const auto first = store.upsert_experiment("first", "first.toml", "");
    const auto second = store.upsert_experiment("second", "second.toml", "");
    store.upsert_cell(first, pretrain_cell("p1"));
    store.upsert_cell(first, eval_cell("e1", "p1"));
    auto renamed = eval_cell("e1", "p1");
    renamed.dataset = "mimic";
    renamed.encoder = "resnet1d-S";
    renamed.ssl = "clocs";
    renamed.task = "linear";  // the evaluation's name (protocol: the task plugin)
    renamed.eval_dataset = "ptbxl-super";
    renamed.protocol = "linear-probe-plugin";
    store.upsert_cell(second, pretrain_cell("p1"));
    store.upsert_cell(second, renamed);
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM cells"), 2);
    for (const std::string cell : {"p1", "e1"}) {
        const auto claim = store.claim(cell, provenance(), false);
        ASSERT_EQ(claim.result, Claim::Result::Claimed);
        store.finish(claim.run_id, {{"macro_auroc", "test", 0.8, std::nullopt, std::nullopt}}, {}, {});
    }

    const auto of_first = store.results("first"), of_second = store.results("second");
    ASSERT_EQ(of_first.size(), 1u);
    ASSERT_EQ(of_second.size(), 1u);
    EXPECT_EQ(of_first[0].task, "superdiag");
    EXPECT_EQ(of_first[0].protocol, "linear_probe");
    EXPECT_EQ(of_first[0].ssl, "simclr");
    EXPECT_EQ(of_second[0].task, "linear");
    EXPECT_EQ(of_second[0].protocol, "linear-probe-plugin");
    EXPECT_EQ(of_second[0].dataset, "mimic");
    EXPECT_EQ(of_second[0].encoder, "resnet1d-S");
    EXPECT_EQ(of_second[0].ssl, "clocs");
    EXPECT_EQ(of_second[0].eval_dataset, "ptbxl-super");
    EXPECT_DOUBLE_EQ(of_second[0].value, 0.8);
    const auto cells = store.experiment_eval_cells("second");
    ASSERT_EQ(cells.size(), 1u);
    EXPECT_EQ(cells[0].cell.task, "linear");
    EXPECT_EQ(cells[0].cell.ssl, "clocs");
    EXPECT_EQ(store.cell("e1")->task, "superdiag") << "the cell keeps the names it was stored with";

    // A re-run after renaming the evaluation shows the new name.
    renamed.task = "linear-probe";
    store.upsert_cell(second, renamed);
    EXPECT_EQ(store.results("second")[0].task, "linear-probe");
    EXPECT_EQ(store.results("first")[0].task, "superdiag");
}

TEST_F(StoreTest, FinishedRunRoundTripsMetricsArtifactsTimings) {
    Store store(path_);
    const auto experiment = store.upsert_experiment("e", "e.toml", "");
    store.upsert_cell(experiment, pretrain_cell("p1"));
    EXPECT_FALSE(store.latest_run("p1"));

    const auto claim = store.claim("p1", provenance("host-a", 4242), false);
    ASSERT_EQ(claim.result, Claim::Result::Claimed);
    ASSERT_GT(claim.run_id, 0);
    auto run = store.latest_run("p1");
    ASSERT_TRUE(run);
    EXPECT_EQ(run->id, claim.run_id);
    EXPECT_EQ(run->cell_hash, "p1");
    EXPECT_EQ(run->status, RunStatus::Running);
    EXPECT_EQ(run->host, "host-a");
    EXPECT_EQ(run->pid, 4242);
    EXPECT_EQ(run->ended_at, "");
    EXPECT_EQ(run->started_at.size(), std::string("2024-01-01T00:00:00.000Z").size()) << run->started_at;
    EXPECT_EQ(run->started_at.back(), 'Z');
    EXPECT_TRUE(store.finished_metrics("p1").empty());
    EXPECT_FALSE(store.finished_artifact("p1", "checkpoint"));

    const std::vector<MetricRecord> metrics{
        {"auroc", "test", 0.91, 0.88, 0.93},
        {"loss", "train", 0.25, std::nullopt, std::nullopt},
        {"auprc", "test", std::nan(""), std::nullopt, std::nullopt},
    };
    const std::vector<ArtifactRecord> artifacts{{"checkpoint", "/ckpt/p1.pt", std::string(64, 'a'), 123456789012}};
    const std::vector<TimingRecord> timings{{"load_data", 1.5}, {"train", 42.25}};
    store.finish(claim.run_id, metrics, artifacts, timings);

    run = store.latest_run("p1");
    ASSERT_TRUE(run);
    EXPECT_EQ(run->status, RunStatus::Finished);
    EXPECT_FALSE(run->ended_at.empty());
    EXPECT_GE(run->ended_at, run->started_at);

    const auto got = store.finished_metrics("p1");
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].name, "auroc");
    EXPECT_EQ(got[0].split, "test");
    EXPECT_DOUBLE_EQ(got[0].value, 0.91);
    EXPECT_EQ(got[0].ci_low, 0.88);
    EXPECT_EQ(got[0].ci_high, 0.93);
    EXPECT_EQ(got[1].name, "loss");
    EXPECT_FALSE(got[1].ci_low);
    EXPECT_FALSE(got[1].ci_high);
    EXPECT_TRUE(std::isnan(got[2].value));

    const auto artifact = store.finished_artifact("p1", "checkpoint");
    ASSERT_TRUE(artifact);
    EXPECT_EQ(artifact->kind, "checkpoint");
    EXPECT_EQ(artifact->path, "/ckpt/p1.pt");
    EXPECT_EQ(artifact->sha256, std::string(64, 'a'));
    EXPECT_EQ(artifact->bytes, 123456789012);
    EXPECT_FALSE(store.finished_artifact("p1", "log"));

    EXPECT_DOUBLE_EQ(store.database().execAndGet("SELECT seconds FROM timings WHERE phase = 'train'").getDouble(), 42.25);
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM timings"), 2);
    EXPECT_EQ(query_text(store, "SELECT git_commit FROM runs"), "abc123");
    EXPECT_EQ(query_text(store, "SELECT json_extract(plugin_versions, '$.simclr') FROM runs"), "0.2");
    EXPECT_EQ(query_text(store, "SELECT json_extract(library_versions, '$.sqlite') FROM runs"), "3.40.1");
    EXPECT_EQ(query_text(store, "SELECT json_extract(extra, '$.note') FROM runs"), "test");

    // Terminal states are final.
    expect_throws_naming([&] { store.finish(claim.run_id, {}, {}, {}); }, path_, "already finished");
    expect_throws_naming([&] { store.fail(claim.run_id, "late"); }, path_);
    expect_throws_naming([&] { store.finish(9999, {}, {}, {}); }, path_, "9999");
}

TEST_F(StoreTest, DataSurvivesReopen) {
    std::int64_t run_id = 0;
    {
        Store store(path_);
        const auto experiment = store.upsert_experiment("e", "e.toml", "x = 1");
        store.upsert_cell(experiment, pretrain_cell("p1"));
        run_id = store.claim("p1", provenance(), false).run_id;
        store.finish(run_id, {{"loss", "train", 0.5, std::nullopt, std::nullopt}}, {}, {});
    }
    Store store(path_);
    EXPECT_EQ(store.experiments(), std::vector<std::string>{"e"});
    ASSERT_TRUE(store.cell("p1"));
    ASSERT_TRUE(store.latest_run("p1"));
    EXPECT_EQ(store.latest_run("p1")->id, run_id);
    ASSERT_EQ(store.finished_metrics("p1").size(), 1u);
    EXPECT_EQ(store.claim("p1", provenance(), false).result, Claim::Result::AlreadyFinished);
}

TEST_F(StoreTest, ClaimAfterFinishAndForce) {
    Store store(path_);
    const auto experiment = store.upsert_experiment("e", "e.toml", "");
    store.upsert_cell(experiment, pretrain_cell("p1"));
    const auto first = store.claim("p1", provenance(), false);
    ASSERT_EQ(first.result, Claim::Result::Claimed);
    store.finish(first.run_id, {{"loss", "train", 1.0, std::nullopt, std::nullopt}}, {}, {});

    const auto again = store.claim("p1", provenance(), false);
    EXPECT_EQ(again.result, Claim::Result::AlreadyFinished);
    EXPECT_EQ(again.run_id, 0);

    const auto forced = store.claim("p1", provenance(), true);
    ASSERT_EQ(forced.result, Claim::Result::Claimed);
    EXPECT_GT(forced.run_id, first.run_id);
    EXPECT_EQ(store.latest_run("p1")->status, RunStatus::Running);
    // Until the forced run finishes, the old results stay the finished ones.
    ASSERT_EQ(store.finished_metrics("p1").size(), 1u);
    EXPECT_DOUBLE_EQ(store.finished_metrics("p1")[0].value, 1.0);
    // A forced run in progress is not claimed a second time, even with force.
    EXPECT_EQ(store.claim("p1", provenance(), true).result, Claim::Result::RunningElsewhere);
    EXPECT_EQ(store.claim("p1", provenance(), false).result, Claim::Result::AlreadyFinished);

    store.finish(forced.run_id, {{"loss", "train", 2.0, std::nullopt, std::nullopt}}, {}, {});
    EXPECT_DOUBLE_EQ(store.finished_metrics("p1")[0].value, 2.0);
}

TEST_F(StoreTest, LiveRunIsNotClaimedTwice) {
    Store store(path_);
    const auto experiment = store.upsert_experiment("e", "e.toml", "");
    store.upsert_cell(experiment, pretrain_cell("p1"));
    // This test process is the holder: certainly alive.
    const auto held = store.claim("p1", provenance("host-a", ::getpid()), false);
    ASSERT_EQ(held.result, Claim::Result::Claimed);
    EXPECT_EQ(store.claim("p1", provenance("host-a", ::getpid()), false).result, Claim::Result::RunningElsewhere);
    // Another host cannot probe the pid; a fresh heartbeat makes the run count as alive.
    EXPECT_EQ(store.claim("p1", provenance("host-b", 1), false).result, Claim::Result::RunningElsewhere);
    EXPECT_EQ(store.claim("p1", provenance("host-a", ::getpid()), true).result, Claim::Result::RunningElsewhere);
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM runs"), 1);
    EXPECT_EQ(store.latest_run("p1")->status, RunStatus::Running);
}

TEST_F(StoreTest, RunOfDeadProcessIsMarkedKilledAndReclaimed) {
    Store store(path_);
    const auto experiment = store.upsert_experiment("e", "e.toml", "");
    store.upsert_cell(experiment, pretrain_cell("p1"));
    const auto pid = dead_pid();
    const auto orphan = store.claim("p1", provenance("host-a", pid), false);
    ASSERT_EQ(orphan.result, Claim::Result::Claimed);

    // From another host the pid cannot be checked and the heartbeat is fresh: hands off.
    EXPECT_EQ(store.claim("p1", provenance("host-b", 1), false).result, Claim::Result::RunningElsewhere);

    const auto reclaimed = store.claim("p1", provenance("host-a", ::getpid()), false);
    ASSERT_EQ(reclaimed.result, Claim::Result::Claimed);
    EXPECT_NE(reclaimed.run_id, orphan.run_id);

    SQLite::Statement q(store.database(), "SELECT status, error, ended_at IS NOT NULL FROM runs WHERE id = ?");
    q.bind(1, static_cast<int64_t>(orphan.run_id));
    ASSERT_TRUE(q.executeStep());
    EXPECT_EQ(q.getColumn(0).getString(), "killed");
    EXPECT_EQ(q.getColumn(1).getString(), "process " + std::to_string(pid) + " on host-a died mid-run");
    EXPECT_EQ(q.getColumn(2).getInt(), 1);
    EXPECT_EQ(store.latest_run("p1")->id, reclaimed.run_id);
}

TEST_F(StoreTest, StaleHeartbeatIsReclaimedFromAnyHostAndHeartbeatRefreshes) {
    Store store(path_);
    const auto experiment = store.upsert_experiment("e", "e.toml", "");
    store.upsert_cell(experiment, pretrain_cell("p1"));
    store.upsert_cell(experiment, pretrain_cell("p2"));
    const auto a = store.claim("p1", provenance("host-a", ::getpid()), false);
    const auto b = store.claim("p2", provenance("host-a", ::getpid()), false);
    const std::string old = "2000-01-01T00:00:00.000Z";
    store.database().exec("UPDATE runs SET heartbeat_at = '" + old + "'");

    // p2's holder is alive and heartbeats: its run survives a claim attempt.
    store.heartbeat(b.run_id);
    EXPECT_NE(query_text(store, "SELECT heartbeat_at FROM runs WHERE id = " + std::to_string(b.run_id)), old);
    EXPECT_EQ(store.claim("p2", provenance("host-b", 1), false).result, Claim::Result::RunningElsewhere);

    // p1 went silent for more than 6 h: presumed dead even though its pid is alive.
    const auto taken = store.claim("p1", provenance("host-b", 77), false);
    ASSERT_EQ(taken.result, Claim::Result::Claimed);
    const auto error = query_text(store, "SELECT error FROM runs WHERE id = " + std::to_string(a.run_id));
    EXPECT_EQ(error.rfind("process " + std::to_string(::getpid()) + " on host-a died mid-run", 0), 0u) << error;
    EXPECT_EQ(query_text(store, "SELECT status FROM runs WHERE id = " + std::to_string(a.run_id)), "killed");

    // Heartbeat of a non-running run is a no-op; of an unknown run an error.
    store.heartbeat(a.run_id);
    expect_throws_naming([&] { store.heartbeat(123456); }, path_, "123456");
}

TEST_F(StoreTest, ClaimOfUnknownCellNamesIt) {
    Store store(path_);
    expect_throws_naming([&] { store.claim("deadbeef", provenance(), false); }, path_, "deadbeef");
}

TEST_F(StoreTest, FailedRunKeepsErrorAndIsRetried) {
    Store store(path_);
    const auto experiment = store.upsert_experiment("e", "e.toml", "");
    store.upsert_cell(experiment, pretrain_cell("p1"));
    const auto first = store.claim("p1", provenance(), false);
    store.fail(first.run_id, "CUDA out of memory\nat step 17", RunStatus::Failed, {{"train", 3.5}});
    auto run = store.latest_run("p1");
    ASSERT_TRUE(run);
    EXPECT_EQ(run->status, RunStatus::Failed);
    EXPECT_EQ(run->error, "CUDA out of memory\nat step 17");
    EXPECT_FALSE(run->ended_at.empty());
    EXPECT_DOUBLE_EQ(store.database().execAndGet("SELECT seconds FROM timings").getDouble(), 3.5);
    EXPECT_TRUE(store.finished_metrics("p1").empty());

    const auto second = store.claim("p1", provenance(), false);
    ASSERT_EQ(second.result, Claim::Result::Claimed);
    store.fail(second.run_id, "interrupted", RunStatus::Killed);
    EXPECT_EQ(store.latest_run("p1")->status, RunStatus::Killed);
    EXPECT_EQ(store.latest_run("p1")->error, "interrupted");
    // The earlier failure keeps its own text.
    EXPECT_EQ(query_text(store, "SELECT error FROM runs WHERE id = " + std::to_string(first.run_id)),
              "CUDA out of memory\nat step 17");
    const auto third = store.claim("p1", provenance(), false);
    EXPECT_THROW(store.fail(third.run_id, "x", RunStatus::Finished), std::runtime_error);
}

TEST_F(StoreTest, ConcurrentClaimsFromTwoConnectionsClaimEachCellOnce) {
    constexpr int kCells = 50;
    {
        Store setup(path_);
        const auto experiment = setup.upsert_experiment("e", "e.toml", "");
        for (int i = 0; i < kCells; ++i) setup.upsert_cell(experiment, pretrain_cell(cell_name(i)));
    }
    std::vector<std::vector<int>> claimed(2);
    std::atomic<int> errors{0};
    std::latch start(2);
    auto worker = [&](int index) {
        try {
            Store store(path_);  // each thread its own connection, opened concurrently
            start.arrive_and_wait();
            for (int i = 0; i < kCells; ++i) {
                const auto claim = store.claim(cell_name(i), provenance("host-a", ::getpid()), false);
                if (claim.result == Claim::Result::Claimed) claimed[index].push_back(i);
                else if (claim.result != Claim::Result::RunningElsewhere) ++errors;
            }
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
            ++errors;
        }
    };
    std::thread t0(worker, 0), t1(worker, 1);
    t0.join();
    t1.join();
    EXPECT_EQ(errors.load(), 0);
    std::multiset<int> all(claimed[0].begin(), claimed[0].end());
    all.insert(claimed[1].begin(), claimed[1].end());
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kCells));
    for (int i = 0; i < kCells; ++i) EXPECT_EQ(all.count(i), 1u) << "cell c" << i;
    Store store(path_);
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM runs"), kCells);
    EXPECT_EQ(query_int(store, "SELECT COUNT(DISTINCT cell_hash) FROM runs"), kCells);
}

TEST_F(StoreTest, ConcurrentCreationOfFreshStore) {
    std::atomic<int> errors{0};
    std::latch start(4);
    auto worker = [&] {
        start.arrive_and_wait();
        try {
            Store store(path_);
            if (store.schema_version() != Store::current_schema_version()) ++errors;
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
            ++errors;
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    Store store(path_);
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM schema_version"), Store::current_schema_version());
}

TEST_F(StoreTest, ResultsViewShowsLatestFinishedRunPerEvalCell) {
    Store store(path_);
    const auto e1 = store.upsert_experiment("exp1", "exp1.toml", "");
    const auto e2 = store.upsert_experiment("exp2", "exp2.toml", "");
    store.upsert_cell(e1, pretrain_cell("p1"));
    store.upsert_cell(e1, eval_cell("ev-b", "p1", 1, 1.0));
    store.upsert_cell(e1, eval_cell("ev-a", "p1", 0, 0.1));
    store.upsert_cell(e1, eval_cell("ev-unrun", "p1", 2, 1.0));
    // The same eval cell belongs to a second experiment.
    store.upsert_cell(e2, pretrain_cell("p1"));
    store.upsert_cell(e2, eval_cell("ev-a", "p1", 0, 0.1));

    const auto pre = store.claim("p1", provenance(), false);
    store.finish(pre.run_id, {{"loss", "train", 9.0, std::nullopt, std::nullopt}}, {}, {});
    auto a = store.claim("ev-a", provenance(), false);
    store.finish(a.run_id, {{"auroc", "test", 0.70, std::nullopt, std::nullopt}}, {}, {});
    a = store.claim("ev-a", provenance(), true);  // re-run: its result replaces the old one
    store.finish(a.run_id, {{"auroc", "test", 0.75, 0.7, 0.8}, {"f1", "test", 0.5, std::nullopt, std::nullopt}},
                 {}, {});
    const auto failed = store.claim("ev-a", provenance(), true);  // a failed re-run hides nothing
    store.fail(failed.run_id, "boom");
    const auto b = store.claim("ev-b", provenance(), false);
    store.finish(b.run_id, {{"auroc", "test", 0.80, std::nullopt, std::nullopt}}, {}, {});
    store.claim("ev-unrun", provenance(), false);  // running: not a result yet

    const auto rows = store.results("exp1");
    ASSERT_EQ(rows.size(), 3u);
    // Ordered by label fraction before seed: ev-a (0.1) first.
    EXPECT_EQ(rows[0].cell_hash, "ev-a");
    EXPECT_EQ(rows[0].metric, "auroc");
    EXPECT_DOUBLE_EQ(rows[0].value, 0.75);
    EXPECT_EQ(rows[0].ci_low, 0.7);
    EXPECT_EQ(rows[0].ci_high, 0.8);
    EXPECT_EQ(rows[1].cell_hash, "ev-a");
    EXPECT_EQ(rows[1].metric, "f1");
    EXPECT_FALSE(rows[1].ci_low);
    EXPECT_EQ(rows[2].cell_hash, "ev-b");
    EXPECT_DOUBLE_EQ(rows[2].value, 0.80);
    for (const auto& row : rows) {
        EXPECT_EQ(row.experiment, "exp1");
        EXPECT_EQ(row.dataset, "ptbxl");
        EXPECT_EQ(row.encoder, "resnet1d");
        EXPECT_EQ(row.ssl, "simclr");
        EXPECT_EQ(row.task, "superdiag");
        EXPECT_EQ(row.eval_dataset, "ptbxl");
        EXPECT_EQ(row.protocol, "linear_probe");
        EXPECT_EQ(row.split, "test");
    }
    EXPECT_DOUBLE_EQ(rows[0].label_fraction, 0.1);
    EXPECT_EQ(rows[2].seed, 1);

    const auto rows2 = store.results("exp2");
    ASSERT_EQ(rows2.size(), 2u);
    EXPECT_EQ(rows2[0].experiment, "exp2");
    EXPECT_TRUE(store.results("nope").empty());

    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM results"), 5);
    EXPECT_EQ(query_text(store, "SELECT DISTINCT pretrain_hash FROM results"), "p1");
    EXPECT_EQ(query_int(store, "SELECT run_id FROM results WHERE cell_hash = 'ev-b'"), b.run_id);
}

TEST_F(StoreTest, ProvenanceViewLinksEvalRunToCheckpointAndDataset) {
    Store store(path_);
    const auto experiment = store.upsert_experiment("e", "e.toml", "");
    store.upsert_cell(experiment, pretrain_cell("p1"));
    store.upsert_cell(experiment, eval_cell("ev", "p1"));
    const auto pre = store.claim("p1", provenance(), false);
    store.finish(pre.run_id, {}, {{"checkpoint", "/c/p1.pt", std::string(64, 'c'), 10}}, {});
    const auto ev = store.claim("ev", provenance(), false);
    store.finish(ev.run_id, {{"auroc", "test", 0.9, std::nullopt, std::nullopt}}, {}, {});
    // A later forced re-pretraining does not change which checkpoint the evaluation used.
    const auto again = store.claim("p1", provenance(), true);
    store.finish(again.run_id, {}, {{"checkpoint", "/c/p1b.pt", std::string(64, 'd'), 11}}, {});
    EXPECT_EQ(store.finished_artifact("p1", "checkpoint")->sha256, std::string(64, 'd'));

    SQLite::Statement q(store.database(),
                        "SELECT cell_hash, pretrain_hash, dataset_fingerprint, dataset_leads, dataset_sampling_rate_hz, "
                        "pretrain_dataset_fingerprint, checkpoint_sha256, checkpoint_path, git_commit, "
                        "json_extract(plugin_versions, '$.ptbxl'), host, pretrain_run_id, "
                        "json_extract(pretrain_config, '$.seed'), dataset_version FROM provenance");
    ASSERT_TRUE(q.executeStep());
    EXPECT_EQ(q.getColumn(0).getString(), "ev");
    EXPECT_EQ(q.getColumn(1).getString(), "p1");
    EXPECT_EQ(q.getColumn(2).getString(), "fp-eval");
    EXPECT_EQ(q.getColumn(3).getString(), R"(["I","II"])");
    EXPECT_DOUBLE_EQ(q.getColumn(4).getDouble(), 500.0);
    EXPECT_EQ(q.getColumn(5).getString(), "fp-pre");
    EXPECT_EQ(q.getColumn(6).getString(), std::string(64, 'c'));
    EXPECT_EQ(q.getColumn(7).getString(), "/c/p1.pt");
    EXPECT_EQ(q.getColumn(8).getString(), "abc123");
    EXPECT_EQ(q.getColumn(9).getString(), "1.0.3");
    EXPECT_EQ(q.getColumn(10).getString(), "host-a");
    EXPECT_EQ(q.getColumn(11).getInt64(), pre.run_id);
    EXPECT_EQ(q.getColumn(12).getInt(), 0);
    EXPECT_EQ(q.getColumn(13).getString(), "1.0.3");
    EXPECT_FALSE(q.executeStep());  // pretraining runs are not listed
}

TEST_F(StoreTest, MigratesVersion1StoreWithoutLosingRows) {
    Store::create_at_version_for_testing(path_, 1);
    {
        // Rows written the way a version-1 build would have written them.
        SQLite::Database db(path_, SQLite::OPEN_READWRITE);
        EXPECT_EQ(db.execAndGet("SELECT MAX(version) FROM schema_version").getInt(), 1);
        EXPECT_FALSE(db.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE name = 'results'").getInt());
        db.exec("INSERT INTO experiments(id, name, file, toml_text, created_at, updated_at) "
                "VALUES (1, 'old', 'old.toml', 'x = 1', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')");
        db.exec("INSERT INTO cells(hash, kind, config, dataset, encoder, ssl, seed, created_at) "
                "VALUES ('p1', 'pretrain', '{}', 'ptbxl', 'resnet1d', 'simclr', 0, '2024-01-01T00:00:00.000Z')");
        db.exec("INSERT INTO cells(hash, kind, config, parent_hash, dataset, encoder, ssl, task, eval_dataset, "
                "protocol, label_fraction, seed, created_at) VALUES ('e1', 'eval', '{}', 'p1', 'ptbxl', 'resnet1d', "
                "'simclr', 'superdiag', 'ptbxl', 'linear_probe', 0.5, 0, '2024-01-01T00:00:00.000Z')");
        db.exec("INSERT INTO experiment_cells VALUES (1, 'p1'), (1, 'e1')");
        db.exec("INSERT INTO runs(id, cell_hash, status, started_at, ended_at, heartbeat_at, host, pid) VALUES "
                "(1, 'e1', 'finished', '2024-01-01T00:00:00.000Z', '2024-01-01T01:00:00.000Z', "
                "'2024-01-01T01:00:00.000Z', 'h', 1)");
        db.exec("INSERT INTO metrics(run_id, name, split, value) VALUES (1, 'auroc', 'test', 0.66)");
        db.exec("INSERT INTO timings VALUES (1, 'train', 12.0)");
    }
    Store store(path_);
    EXPECT_EQ(store.schema_version(), Store::current_schema_version());
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM schema_version"), Store::current_schema_version());
    EXPECT_EQ(store.experiments(), std::vector<std::string>{"old"});
    ASSERT_TRUE(store.cell("e1"));
    EXPECT_EQ(store.cell("e1")->parent_hash, "p1");
    EXPECT_EQ(store.latest_run("e1")->status, RunStatus::Finished);
    ASSERT_EQ(store.finished_metrics("e1").size(), 1u);
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM timings"), 1);
    // Migration 2's objects exist and work on the old rows.
    EXPECT_EQ(query_int(store, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'runs_by_cell'"), 1);
    const auto rows = store.results("old");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_DOUBLE_EQ(rows[0].value, 0.66);
    EXPECT_DOUBLE_EQ(rows[0].label_fraction, 0.5);
    // Migration 4: old metrics read as higher-is-better, old pretraining as not labelled.
    EXPECT_TRUE(rows[0].higher_is_better);
    EXPECT_FALSE(rows[0].pretrain_uses_labels);
    EXPECT_TRUE(store.outputs(1).empty());
    // New runs continue after the old ids.
    store.upsert_cell(store.upsert_experiment("old", "old.toml", "x = 1"), eval_cell("e2", "p1"));
    EXPECT_GT(store.claim("e2", provenance(), false).run_id, 1);
}

TEST_F(StoreTest, RefusesNonSqliteFileUntouched) {
    fs::create_directories(fs::path(path_).parent_path());
    const std::string garbage(4096, '\x5a');
    std::ofstream(path_, std::ios::binary) << garbage;
    expect_throws_naming([&] { Store store(path_); }, path_, "not an SQLite database");
    std::ifstream in(path_, std::ios::binary);
    const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(after, garbage);
}

TEST_F(StoreTest, RefusesForeignSqliteDatabase) {
    fs::create_directories(fs::path(path_).parent_path());
    {
        SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)");
    }
    expect_throws_naming([&] { Store store(path_); }, path_, "customers");
    {
        SQLite::Database db(path_, SQLite::OPEN_READONLY);
        EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "delete");  // not converted to WAL
    }
    // A table that happens to share our name is not enough to pass as a store.
    const auto other = (dir_ / "other.sqlite").string();
    {
        SQLite::Database db(other, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE schema_version(version INTEGER)");
        db.exec("INSERT INTO schema_version VALUES (1)");
    }
    expect_throws_naming([&] { Store store(other); }, other, "not an ecgbench result store");
}

TEST_F(StoreTest, RefusesNewerSchemaVersion) {
    {
        Store store(path_);
        store.database().exec("INSERT INTO schema_version(version, description, applied_at) VALUES (" +
                              std::to_string(Store::current_schema_version() + 1) +
                              ", 'from the future', '2099-01-01T00:00:00.000Z')");
    }
    expect_throws_naming([&] { Store store(path_); }, path_, "newer");
}

TEST_F(StoreTest, EmptyFileBecomesStore) {
    fs::create_directories(fs::path(path_).parent_path());
    std::ofstream(path_).close();
    Store store(path_);
    EXPECT_EQ(store.schema_version(), Store::current_schema_version());
}

TEST_F(StoreTest, DroppedRecordsAreStoredOncePerFingerprint) {
    Store store(path_);
    store.record_dropped("fp1", "wfdb_folder", {{"r2", "too short (1 s < 10 s)"}, {"r1", "invalid samples"}});
    store.record_dropped("fp1", "wfdb_folder", {{"r1", "invalid samples"}});  // a second load: no duplicate
    store.record_dropped("fp2", "wfdb_folder", {{"r1", "no row in labels_csv"}});
    const auto rows = store.dropped_records("fp1");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].record, "r1");
    EXPECT_EQ(rows[1].reason, "too short (1 s < 10 s)");
    EXPECT_EQ(store.dropped_records("fp2").size(), 1u);
    EXPECT_TRUE(store.dropped_records("unknown").empty());
}

TEST_F(StoreTest, RecordOutputsRoundTripCompressedAndDamageIsNamed) {
    Store store(path_);
    const auto e = store.upsert_experiment("exp", "exp.toml", "");
    store.upsert_cell(e, pretrain_cell("p1"));
    store.upsert_cell(e, eval_cell("ev", "p1"));
    const auto pre = store.claim("p1", provenance(), false);
    store.set_run_extra(pre.run_id, R"({"uses_labels":true})");
    store.finish(pre.run_id, {}, {}, {});
    const auto run = store.claim("ev", provenance(), false);
    OutputRecord logits{"test", "logits", {"AF", "MI"}, {"rec-1", "rec-2", "rec-3"}, {0.5f, -1.25f, 3.0e-7f, 2.0f, -0.0f, 1e9f}};
    MetricRecord mae{"mae", "test", 12.5};
    mae.higher_is_better = false;
    store.finish(run.run_id, {mae}, {}, {}, {logits});

    const auto back = store.outputs(run.run_id);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].split, "test");
    EXPECT_EQ(back[0].kind, "logits");
    EXPECT_EQ(back[0].columns, logits.columns);
    EXPECT_EQ(back[0].record_ids, logits.record_ids);
    EXPECT_EQ(back[0].values, logits.values);  // float32 round-trips exactly through %.9g
    EXPECT_EQ(query_int(store, "SELECT records FROM record_outputs"), 3);
    EXPECT_EQ(query_text(store, "SELECT encoding FROM record_outputs"), "tsv+zstd");
    EXPECT_EQ(query_text(store, "SELECT hex(substr(data, 1, 4)) FROM record_outputs"), "28B52FFD");  // zstd frame magic

    const auto rows = store.results("exp");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_FALSE(rows[0].higher_is_better);
    EXPECT_TRUE(rows[0].pretrain_uses_labels);

    store.database().exec("UPDATE record_outputs SET sha256 = 'beef'");
    expect_throws_naming([&] { store.outputs(run.run_id); }, "run " + std::to_string(run.run_id) + " test/logits", "recorded beef");
    OutputRecord bad{"test", "logits", {"AF"}, {"a", "b"}, {1.0f}};
    const auto again = store.claim("ev", provenance(), true);
    EXPECT_THROW(store.finish(again.run_id, {}, {}, {}, {bad}), std::invalid_argument);
}

TEST_F(StoreTest, RecordOutputsWrittenWithZlibBeforeZstdAreStillRead) {
    // Stores written before outputs moved to zstd hold zlib streams ('tsv+zlib', compress2 level 6);
    // such a row, made here byte for byte as that encoder made it, decodes beside a new zstd one.
    Store store(path_);
    const auto e = store.upsert_experiment("exp", "exp.toml", "");
    store.upsert_cell(e, pretrain_cell("p1"));
    store.upsert_cell(e, eval_cell("ev", "p1"));
    store.finish(store.claim("p1", provenance(), false).run_id, {}, {}, {});
    const auto run = store.claim("ev", provenance(), false);
    OutputRecord labels{"test", "labels", {"AF"}, {"rec-1", "rec-2"}, {1.0f, 0.0f}};
    OutputRecord logits{"test", "logits", {"AF", "MI"}, {"rec-1", "rec-2"}, {0.5f, -1.25f, 3e-07f, 2.0f}};
    store.finish(run.run_id, {}, {}, {}, {labels, logits});

    const std::string tsv = "record_id\tAF\tMI\nrec-1\t0.5\t-1.25\nrec-2\t3.00000011e-07\t2\n";
    uLongf size = compressBound(static_cast<uLong>(tsv.size()));
    std::vector<unsigned char> zlib(size);
    ASSERT_EQ(compress2(zlib.data(), &size, reinterpret_cast<const Bytef*>(tsv.data()), static_cast<uLong>(tsv.size()), 6), Z_OK);
    zlib.resize(size);
    SQLite::Statement old(store.database(),
                          "UPDATE record_outputs SET encoding = 'tsv+zlib', data = ?, bytes = ?, sha256 = ? WHERE kind = 'logits'");
    old.bind(1, zlib.data(), static_cast<int>(zlib.size()));
    old.bind(2, static_cast<int64_t>(tsv.size()));
    old.bind(3, sha256_hex(tsv));
    ASSERT_EQ(old.exec(), 1);
    EXPECT_EQ(query_text(store, "SELECT hex(substr(data, 1, 1)) FROM record_outputs WHERE kind = 'logits'"), "78");

    const auto back = store.outputs(run.run_id);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].kind, "labels");  // zstd
    EXPECT_EQ(back[0].values, labels.values);
    EXPECT_EQ(back[1].kind, "logits");  // zlib
    EXPECT_EQ(back[1].record_ids, logits.record_ids);
    EXPECT_EQ(back[1].values, logits.values);

    // A damaged stream of either kind is named, not misread.
    store.database().exec("UPDATE record_outputs SET data = substr(data, 1, length(data) - 3)");
    expect_throws_naming([&] { store.outputs(run.run_id); }, "test/labels", "cannot decompress");
}
