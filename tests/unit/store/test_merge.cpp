// merge_store: shards written by separate processes fold into one store, idempotently, refusing
// conflicting results by naming both stores.
#include "store/merge.hpp"
#include "store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace ecgbench;

namespace {

class MergeTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::path(::testing::TempDir()) / ("ecgbench_merge_" + std::to_string(::getpid()) + "_" + info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    fs::path dir_;
};

CellRecord pretrain_cell() {
    CellRecord cell;
    cell.hash = "p1";
    cell.kind = "pretrain";
    cell.config = R"({"seed":0,"ssl":"simclr"})";
    cell.dataset = "pre";
    cell.encoder = "resnet";
    cell.ssl = "simclr";
    return cell;
}

CellRecord eval_cell() {
    CellRecord cell = pretrain_cell();
    cell.hash = "e1";
    cell.kind = "eval";
    cell.config = R"({"pretrain":"p1","task":"probe"})";
    cell.parent_hash = "p1";
    cell.task = "probe";
    cell.eval_dataset = "heldout";
    cell.protocol = "linear_probe";
    return cell;
}

RunProvenance provenance(std::int64_t pid) {
    RunProvenance p;
    p.host = "node-1";
    p.pid = pid;
    p.git_commit = "abc";
    p.library_versions = "{}";
    p.plugin_versions = "{}";
    p.extra = "{}";
    return p;
}

std::int64_t register_cells(Store& store) {
    const auto id = store.upsert_experiment("exp", "exp.toml", "[experiment]\nname = \"exp\"\n");
    store.upsert_cell(id, pretrain_cell());
    store.upsert_cell(id, eval_cell());
    return id;
}

/// A finished pretraining run with a checkpoint whose sha256 is `sha` (its throughput differs per run).
void finish_pretrain(Store& store, std::int64_t pid, const std::string& sha, double samples_per_second = 100) {
    const auto claim = store.claim("p1", provenance(pid), false);
    ASSERT_EQ(claim.result, Claim::Result::Claimed);
    store.finish(claim.run_id, {{"final_loss", "train", 1.25, {}, {}, false}, {"samples_per_second", "train", samples_per_second}},
                 {{"checkpoint", "/shared/checkpoints/p1.pt", sha, 1234}}, {{"train", 2.5}});
}

void finish_eval(Store& store, std::int64_t pid, double auroc) {
    const auto claim = store.claim("e1", provenance(pid), false);
    ASSERT_EQ(claim.result, Claim::Result::Claimed);
    OutputRecord outputs{"test", "logits", {"NORM", "MI"}, {"r1", "r2"}, {0.5f, -0.5f, 1.0f, 2.0f}};
    store.finish(claim.run_id, {{"macro_auroc", "test", auroc, 0.6, 0.9}}, {}, {{"evaluate", 1.0}}, {outputs});
}

std::int64_t query(Store& store, const std::string& sql) { return store.database().execAndGet(sql).getInt64(); }

void expect_error_naming(const std::function<void()>& body, const std::vector<std::string>& needles) {
    try {
        body();
        ADD_FAILURE() << "expected an error";
    } catch (const std::runtime_error& e) {
        for (const auto& needle : needles) EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

}  // namespace

// The Slurm layout: the pretraining task's shard, and the evaluation task's shard seeded from it by a
// merge (so it holds a copy of the pretraining run). Folding both into a main store, in either order
// and any number of times, gives each run once with the evaluation linked to its pretraining run.
TEST_F(MergeTest, ShardsFoldInOnceInAnyOrder) {
    {
        Store pretrain(path("pretrain.db"));
        register_cells(pretrain);
        finish_pretrain(pretrain, 11, "aaaa");
    }
    {
        Store evaluate(path("eval.db"));
        const auto seeded = merge_store(evaluate, path("pretrain.db"));
        EXPECT_EQ(seeded.cells_added, 2);
        EXPECT_EQ(seeded.runs_added, 1);
        register_cells(evaluate);
        finish_eval(evaluate, 12, 0.75);
    }
    for (const auto& order : {std::vector<std::string>{"pretrain.db", "eval.db"},
                                                 std::vector<std::string>{"eval.db", "pretrain.db"}}) {
        const std::string main_path = path("main-" + order.front());
        Store main(main_path);
        for (int round = 0; round < 2; ++round) {
            for (const auto& shard : order) {
                const auto summary = merge_store(main, path(shard));
                if (round == 1) {
                    EXPECT_EQ(summary.runs_added, 0) << shard;
                    EXPECT_EQ(summary.cells_added, 0) << shard;
                }
            }
            EXPECT_EQ(query(main, "SELECT COUNT(*) FROM experiments"), 1);
            EXPECT_EQ(query(main, "SELECT COUNT(*) FROM cells"), 2);
            EXPECT_EQ(query(main, "SELECT COUNT(*) FROM experiment_cells"), 2);
            EXPECT_EQ(query(main, "SELECT COUNT(*) FROM runs"), 2);
            EXPECT_EQ(query(main, "SELECT COUNT(*) FROM metrics"), 3);
            EXPECT_EQ(query(main, "SELECT COUNT(*) FROM artifacts"), 1);
            EXPECT_EQ(query(main, "SELECT COUNT(*) FROM timings"), 2);
        }
        // The evaluation's pretraining run is the main store's copy of it.
        EXPECT_EQ(query(main, "SELECT r.pretrain_run_id FROM runs r WHERE r.cell_hash = 'e1'"),
                  query(main, "SELECT id FROM runs WHERE cell_hash = 'p1'"));
        const auto results = main.results("exp");
        ASSERT_EQ(results.size(), 1u);
        EXPECT_DOUBLE_EQ(results[0].value, 0.75);
        EXPECT_DOUBLE_EQ(*results[0].ci_low, 0.6);
        const auto outputs = main.outputs(results[0].run_id);
        ASSERT_EQ(outputs.size(), 1u);
        EXPECT_EQ(outputs[0].values, (std::vector<float>{0.5f, -0.5f, 1.0f, 2.0f}));
        EXPECT_EQ(main.finished_artifact("p1", "checkpoint")->sha256, "aaaa");
    }
}

// Two finished runs of one cell in two stores: the same result (checkpoint content; throughput is
// not a result) is kept once, a different one is an error naming both stores and changes nothing.
TEST_F(MergeTest, DifferentFinishedResultsOfOneCellAreAConflict) {
    {
        Store a(path("a.db"));
        register_cells(a);
        finish_pretrain(a, 21, "aaaa", 100);
        finish_eval(a, 22, 0.75);
    }
    {
        Store b(path("b.db"));
        register_cells(b);
        finish_pretrain(b, 31, "aaaa", 250);
        finish_eval(b, 32, 0.80);
    }
    Store main(path("main.db"));
    merge_store(main, path("a.db"));
    expect_error_naming([&] { merge_store(main, path("b.db")); },
                        {path("main.db"), path("b.db"), "cell e1", "macro_auroc (test) 0.75 vs 0.80"});
    EXPECT_EQ(query(main, "SELECT COUNT(*) FROM runs"), 2);

    // Without the conflicting evaluation, b's pretraining run is recognised as the same result.
    {
        Store b(path("b.db"));
        b.database().exec("DELETE FROM runs WHERE cell_hash = 'e1'");
    }
    const auto summary = merge_store(main, path("b.db"));
    EXPECT_EQ(summary.runs_same_result, 1);
    EXPECT_EQ(summary.runs_added, 0);
    EXPECT_EQ(query(main, "SELECT COUNT(*) FROM runs"), 2);
}

TEST_F(MergeTest, DifferentConfigsUnderOneHashAreRefused) {
    {
        Store a(path("a.db"));
        register_cells(a);
    }
    {
        Store b(path("b.db"));
        const auto id = b.upsert_experiment("exp", "exp.toml", "");
        CellRecord cell = pretrain_cell();
        cell.config = R"({"seed":1})";
        b.upsert_cell(id, cell);
    }
    Store main(path("main.db"));
    merge_store(main, path("a.db"));
    expect_error_naming([&] { merge_store(main, path("b.db")); }, {"cell p1", "different config", path("b.db")});
    expect_error_naming([&] { merge_store(main, path("main.db")); }, {"the main store itself"});
    expect_error_naming([&] { merge_store(main, path("missing.db")); }, {"no store shard", "missing.db"});
}

// A pre-empted task leaves a killed attempt then a finished run; a run still going is not copied
// (and a shard's owner marks it killed on restart); attempts of a cell finished elsewhere are dropped.
TEST_F(MergeTest, RunningRunsWaitAndKilledAttemptsKeepTheirOrder) {
    {
        Store shard(path("shard.db"));
        register_cells(shard);
        const auto killed = shard.claim("p1", provenance(41), false);
        shard.fail(killed.run_id, "interrupted by signal", RunStatus::Killed);
        finish_pretrain(shard, 42, "aaaa");
        ASSERT_EQ(shard.claim("e1", provenance(::getpid()), false).result, Claim::Result::Claimed);
    }
    Store main(path("main.db"));
    auto summary = merge_store(main, path("shard.db"));
    EXPECT_EQ(summary.runs_added, 2);
    EXPECT_EQ(summary.runs_running, 1);
    EXPECT_EQ(main.latest_run("p1")->status, RunStatus::Finished);
    EXPECT_FALSE(main.latest_run("e1"));
    {
        Store shard(path("shard.db"));
        EXPECT_EQ(shard.abandon_running("requeued"), 1);
        EXPECT_EQ(shard.latest_run("e1")->status, RunStatus::Killed);
        EXPECT_EQ(shard.latest_run("e1")->error, "requeued");
        EXPECT_EQ(shard.abandon_running("requeued"), 0);
    }
    summary = merge_store(main, path("shard.db"));
    EXPECT_EQ(summary.runs_present, 2);
    EXPECT_EQ(summary.runs_added, 1);
    EXPECT_EQ(main.latest_run("e1")->status, RunStatus::Killed);

    // Another shard's killed attempt at the finished pretraining cell is superseded.
    {
        Store other(path("other.db"));
        register_cells(other);
        const auto claim = other.claim("p1", provenance(51), false);
        other.fail(claim.run_id, "interrupted by signal", RunStatus::Killed);
    }
    summary = merge_store(main, path("other.db"));
    EXPECT_EQ(summary.runs_superseded, 1);
    EXPECT_EQ(main.latest_run("p1")->status, RunStatus::Finished);
}

// A filtered merge (how `submit` seeds the cluster with what the main store finished) copies only
// the named cells, their runs and the experiments linking them; the evaluation stays linked to its
// pretraining run, dropped records stay behind, and merging the seed back changes nothing.
TEST_F(MergeTest, OnlyNamedCellsAreCopied) {
    {
        Store main(path("main.db"));
        register_cells(main);
        finish_pretrain(main, 11, "aaaa");
        finish_eval(main, 12, 0.75);
        main.record_dropped("fp", "pre", {{"r9", "NaN samples"}});
        main.upsert_experiment("other", "other.toml", "[experiment]\nname = \"other\"\n");
    }
    Store pretrained_only(path("seed1.db"));
    const auto one = merge_store(pretrained_only, path("main.db"), std::set<std::string>{"p1"});
    EXPECT_EQ(one.cells_added, 1);
    EXPECT_EQ(one.runs_added, 1);
    EXPECT_EQ(query(pretrained_only, "SELECT COUNT(*) FROM cells WHERE hash = 'e1'"), 0);
    EXPECT_EQ(query(pretrained_only, "SELECT COUNT(*) FROM experiments"), 1);  // "exp" links p1, "other" nothing
    EXPECT_EQ(query(pretrained_only, "SELECT COUNT(*) FROM dropped_records"), 0);
    EXPECT_TRUE(pretrained_only.has_finished("p1"));
    EXPECT_FALSE(pretrained_only.has_finished("e1"));

    Store both(path("seed2.db"));
    const auto two = merge_store(both, path("main.db"), std::set<std::string>{"p1", "e1"});
    EXPECT_EQ(two.runs_added, 2);
    EXPECT_EQ(query(both, "SELECT COUNT(*) FROM runs e JOIN runs p ON e.pretrain_run_id = p.id "
                          "WHERE e.cell_hash = 'e1' AND p.cell_hash = 'p1'"),
              1);
    EXPECT_EQ(query(both, "SELECT COUNT(*) FROM record_outputs"), 1);

    Store main(path("main.db"));
    const auto back = merge_store(main, path("seed2.db"));
    EXPECT_EQ(back.runs_added, 0);
    EXPECT_EQ(back.runs_present, 2);
    EXPECT_EQ(query(main, "SELECT COUNT(*) FROM runs"), 2);
}
