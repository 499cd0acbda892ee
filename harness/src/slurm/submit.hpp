// `ecgbench submit --slurm`: an experiment's matrix as two Slurm job arrays (docs/slurm.md).
//
// Pretraining array task i runs the pretraining cells of batch i; evaluation array task i, started
// by `--dependency=aftercorr` once pretraining task i has succeeded, runs those cells' evaluations.
// Each task writes its own SQLite store shard under <shared>/shards (SQLite must not have writers on
// several nodes); checkpoints and cache shards sit beside them (<shared>/shards/checkpoints, cache),
// where every task finds them. An evaluation task first merges its pretraining task's shard into its
// own, so it holds the pretraining run whose checkpoint it evaluates. `ecgbench merge` folds all
// shards into the main store.
//
// Cells the main store has finished are not run again: a pretraining cell finished there with
// every selected evaluation is left out, and the finished cells of the batches that are submitted
// are copied into a seed store that every pretraining task merges into its shard first, so `run`
// finds them finished (merging them back is a no-op: they are the same runs).
//
// With [slurm.pretrain] ranks = N, a pretraining task is N Slurm tasks (--ntasks) that train each
// cell data-parallel through `srun … run --distributed`.
#pragma once

#include "config/experiment.hpp"
#include "config/matrix.hpp"
#include "config/selection.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ecgbench {

struct SubmitOptions {
    std::string executable;                ///< absolute path of the ecgbench binary the tasks run
    std::string experiment_file;           ///< absolute path, read by every task
    std::string workdir;                   ///< the tasks' working directory (relative paths in the file)
    std::string shared;                    ///< absolute directory every node sees
    std::vector<std::string> overrides;    ///< --set, passed to every task
    std::vector<std::string> plugin_dirs;  ///< --plugin-dir, absolute, passed to every task
    std::optional<std::string> filter;     ///< --filter, passed to the evaluation tasks
};

/// One job array: its script (sbatch directives + body) and how many tasks it has.
struct ArrayJob {
    std::string name;    ///< "pretrain" or "evaluate"
    std::string script;
    std::size_t tasks = 0;
};

struct SlurmSubmission {
    ArrayJob pretrain;
    std::optional<ArrayJob> evaluate;  ///< absent when no evaluation is selected
    std::size_t finished_pretrain = 0; ///< pretraining cells left out: finished with every selected evaluation
    std::set<std::string> seed_cells;  ///< finished cells of the submitted batches: the seed store's content
    std::string seed_store;            ///< where the scripts expect the seed store ("" when seed_cells is empty)
};

/// The arrays for the selected cells: every pretraining cell the selection involves is pretrained
/// (in batches of [slurm] cells_per_task), and batches with selected evaluations get an evaluation
/// task of the same index. `finished` holds the hashes of the cells the main store has finished
/// (see above). Throws std::invalid_argument when nothing is selected, and when everything selected
/// is finished.
SlurmSubmission slurm_submission(const Experiment& experiment, const Plan& plan, const Selection& selection,
                                 const SubmitOptions& options, const std::set<std::string>& finished = {});

/// Writes the submission's seed store: the runs of `seed_cells` from the main store at
/// `main_store`, their checkpoints copied beside the shards' (<shared>/shards/checkpoints) so every
/// node reads them (verified by sha256 there as any checkpoint is). Throws std::runtime_error
/// naming a checkpoint that is missing.
void write_seed_store(const SlurmSubmission& submission, const std::string& main_store, const std::string& shared);

/// `text` quoted for a POSIX shell (single quotes).
std::string shell_quote(const std::string& text);

/// Runs sbatch with `arguments` and the script at `script`; returns the job id. Throws
/// std::runtime_error with sbatch's output when it fails.
std::string sbatch(const std::vector<std::string>& arguments, const std::string& script);

}  // namespace ecgbench
