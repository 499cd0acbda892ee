// `submit --slurm`'s job arrays: which cells each task gets, array indices, resources, quoting.
#include "config/experiment.hpp"
#include "config/matrix.hpp"
#include "config/selection.hpp"
#include "slurm/submit.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

using namespace ecgbench;

namespace {

const std::string kText = R"([experiment]
name = "arrays"

[[dataset]]
name = "pre"
plugin = "synthetic"

[[encoder]]
plugin = "resnet1d"

[[ssl]]
plugin = "simclr"

[[ssl]]
plugin = "byol"

[[ssl]]
plugin = "random_init"

[pretrain]
datasets = ["pre"]

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["pre"]

[slurm]
time = "30"
cpus = 2

[slurm.pretrain]
gpus = 1
mem = "8G"
)";

Plan plan_of(const Experiment& e) {
    std::map<std::string, DatasetIdentity> identities;
    for (const auto& d : e.datasets) identities[d.name] = {"fp-" + d.name, "v1", 100.0, {"I", "II"}, ""};
    return expand(e, identities);
}

SubmitOptions options() {
    SubmitOptions o;
    o.executable = "/opt/ecgbench/bin/ecgbench";
    o.experiment_file = "/home/me/exp's.toml";
    o.workdir = "/home/me";
    o.shared = "/scratch/run";
    o.overrides = {"pretrain.epochs=3"};
    return o;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST(SlurmSubmit, OneTaskPerPretrainingCellEvaluationsAfterTheirOwn) {
    const Experiment e = parse_experiment_text(kText, "exp.toml");
    const Plan plan = plan_of(e);
    ASSERT_EQ(plan.pretrain.size(), 3u);
    const auto all = slurm_submission(e, plan, Selection::all(plan), options());
    EXPECT_EQ(all.pretrain.tasks, 3u);
    ASSERT_TRUE(all.evaluate);
    EXPECT_EQ(all.evaluate->tasks, 3u);
    const std::string& pre = all.pretrain.script;
    EXPECT_TRUE(contains(pre, "#SBATCH --array=0-2\n")) << pre;
    EXPECT_TRUE(contains(pre, "#SBATCH --requeue\n"));
    EXPECT_TRUE(contains(pre, "#SBATCH --job-name=ecgbench-arrays-pretrain\n"));
    EXPECT_TRUE(contains(pre, "#SBATCH --output=/scratch/run/logs/pretrain-%a.out\n"));
    EXPECT_TRUE(contains(pre, "#SBATCH --time=30\n#SBATCH --cpus-per-task=2\n#SBATCH --gpus=1\n#SBATCH --mem=8G\n")) << pre;
    EXPECT_TRUE(contains(pre, "  '" + plan.pretrain[2].hash + "'  # task 2\n")) << pre;
    EXPECT_TRUE(contains(pre, "exec '/opt/ecgbench/bin/ecgbench' --threads 2 --store \"$shard\" run '/home/me/exp'\\''s.toml' "
                              "--set 'pretrain.epochs=3' --sole-writer \"${selection[@]}\" --only pretrain\n"))
        << pre;
    const std::string& eval = all.evaluate->script;
    EXPECT_FALSE(contains(eval, "--gpus")) << eval;  // [slurm.pretrain] only
    EXPECT_TRUE(contains(eval, "#SBATCH --time=30\n#SBATCH --cpus-per-task=2\n")) << eval;
    EXPECT_TRUE(contains(eval, " merge \"$shard\" '/scratch/run/shards'/pretrain-${first:0:16}.db\n")) << eval;
    EXPECT_TRUE(contains(eval, "--only eval\n")) << eval;
}

// Batches of cells_per_task; evaluation tasks keep their pretraining task's index, with gaps where a
// batch has no selected evaluation; a filter reaches the evaluation tasks.
TEST(SlurmSubmit, BatchesAndGaps) {
    Experiment e = parse_experiment_text(kText, "exp.toml");
    const Plan plan = plan_of(e);
    const std::string filter = "^pretrain [^→]*simclr[^→]*$|byol.*probe";
    const Selection selection = select_cells(e, plan, filter, CellKinds::All);
    SubmitOptions o = options();
    o.filter = filter;
    const auto gaps = slurm_submission(e, plan, selection, o);
    EXPECT_EQ(gaps.pretrain.tasks, 2u);  // simclr (selected) and byol (its evaluation needs it)
    ASSERT_TRUE(gaps.evaluate);
    EXPECT_TRUE(contains(gaps.evaluate->script, "#SBATCH --array=1\n")) << gaps.evaluate->script;
    EXPECT_TRUE(contains(gaps.evaluate->script, "--only eval --filter '" + filter + "'\n")) << gaps.evaluate->script;

    e.slurm.cells_per_task = 2;
    const auto batched = slurm_submission(e, plan, Selection::all(plan), options());
    EXPECT_EQ(batched.pretrain.tasks, 2u);
    EXPECT_TRUE(contains(batched.pretrain.script, "'" + plan.pretrain[0].hash + " " + plan.pretrain[1].hash + "'  # task 0\n"));

    const auto only_pretrain = slurm_submission(e, plan, select_cells(e, plan, std::nullopt, CellKinds::Pretrain), options());
    EXPECT_FALSE(only_pretrain.evaluate);
    EXPECT_THROW(slurm_submission(e, plan, select_cells(e, plan, "nothing", CellKinds::All), options()), std::invalid_argument);
    EXPECT_EQ(shell_quote("a'b"), "'a'\\''b'");
}

// Cells the main store finished: a pretraining cell finished with all its evaluations is left out;
// one finished with an evaluation still to do stays, and its finished cells go to the seed store
// every pretraining task merges first.
TEST(SlurmSubmit, FinishedCellsAreLeftOutOrSeeded) {
    const Experiment e = parse_experiment_text(kText, "exp.toml");
    const Plan plan = plan_of(e);
    ASSERT_EQ(plan.evaluations.size(), 3u);
    const auto eval_of = [&](std::size_t p) {
        for (const auto& cell : plan.evaluations)
            if (cell.pretrain == p) return cell.hash;
        return std::string();
    };
    // Cell 0 entirely finished, cell 1 pretrained only, cell 2 untouched.
    const std::set<std::string> finished{plan.pretrain[0].hash, eval_of(0), plan.pretrain[1].hash};
    const auto s = slurm_submission(e, plan, Selection::all(plan), options(), finished);
    EXPECT_EQ(s.finished_pretrain, 1u);
    EXPECT_EQ(s.pretrain.tasks, 2u);
    EXPECT_FALSE(contains(s.pretrain.script, plan.pretrain[0].hash)) << s.pretrain.script;
    EXPECT_TRUE(contains(s.pretrain.script, "'" + plan.pretrain[1].hash + "'  # task 0\n")) << s.pretrain.script;
    EXPECT_EQ(s.seed_cells, (std::set<std::string>{plan.pretrain[1].hash}));
    EXPECT_EQ(s.seed_store, "/scratch/run/slurm/arrays-seed.db");
    EXPECT_TRUE(contains(s.pretrain.script, " merge \"$shard\" '/scratch/run/slurm/arrays-seed.db'\n")) << s.pretrain.script;
    ASSERT_TRUE(s.evaluate);
    EXPECT_EQ(s.evaluate->tasks, 2u);
    EXPECT_FALSE(contains(s.evaluate->script, "seed.db")) << "the evaluation task gets the seed through its pretraining shard";

    // Nothing finished: no seed; everything finished: nothing to submit, said so.
    const auto fresh = slurm_submission(e, plan, Selection::all(plan), options());
    EXPECT_TRUE(fresh.seed_store.empty());
    EXPECT_FALSE(contains(fresh.pretrain.script, "seed"));
    std::set<std::string> all;
    for (const auto& c : plan.pretrain) all.insert(c.hash);
    for (const auto& c : plan.evaluations) all.insert(c.hash);
    try {
        slurm_submission(e, plan, Selection::all(plan), options(), all);
        FAIL() << "an all-finished submission must be refused";
    } catch (const std::invalid_argument& error) {
        EXPECT_TRUE(contains(error.what(), "every selected cell")) << error.what();
        EXPECT_TRUE(contains(error.what(), "3 pretraining cells")) << error.what();
    }
}

// [slurm.pretrain] ranks = 2: two Slurm tasks per array task, srun starting the data-parallel ranks;
// evaluation tasks stay single-process, and `ranks` anywhere else is a parse error.
TEST(SlurmSubmit, RanksTrainDataParallelThroughSrun) {
    std::string text = kText;
    text.replace(text.find("gpus = 1\n"), 9, "gpus = 1\nranks = 2\n");
    const Experiment e = parse_experiment_text(text, "exp.toml");
    EXPECT_EQ(e.slurm.pretrain.ranks, 2);
    EXPECT_EQ(e.slurm.evaluate.ranks, 1);
    const Plan plan = plan_of(e);
    const auto s = slurm_submission(e, plan, Selection::all(plan), options());
    EXPECT_TRUE(contains(s.pretrain.script, "#SBATCH --mem=8G\n#SBATCH --ntasks=2\n")) << s.pretrain.script;
    EXPECT_TRUE(contains(s.pretrain.script, "exec srun --ntasks=2 --kill-on-bad-exit=1 '/opt/ecgbench/bin/ecgbench' --threads 2 "
                                            "--store \"$shard\" run ")) << s.pretrain.script;
    EXPECT_TRUE(contains(s.pretrain.script, " --only pretrain --distributed\n")) << s.pretrain.script;
    ASSERT_TRUE(s.evaluate);
    EXPECT_FALSE(contains(s.evaluate->script, "--ntasks")) << s.evaluate->script;
    EXPECT_FALSE(contains(s.evaluate->script, "srun")) << s.evaluate->script;

    for (const auto& [from, to] : {std::pair<std::string, std::string>{"cpus = 2\n", "cpus = 2\nranks = 2\n"},
                                   {"ranks = 2\n", "ranks = 0\n"}}) {
        std::string bad = text;
        bad.replace(bad.find(from), from.size(), to);
        try {
            parse_experiment_text(bad, "exp.toml");
            FAIL() << "accepted: " << bad;
        } catch (const std::exception& error) {
            EXPECT_TRUE(contains(error.what(), "exp.toml:")) << error.what();
            EXPECT_TRUE(contains(error.what(), "ranks")) << error.what();
        }
    }
}
