// Folding store shards into one store (`ecgbench merge`): the rows a Slurm array task wrote into its
// own SQLite file (docs/slurm.md) join the main store's. Idempotent: a run is recognised by where
// and when it was claimed (cell, host, pid, started_at), so merging a shard twice adds nothing.
#pragma once

#include "store/store.hpp"

#include <optional>
#include <set>
#include <string>

namespace ecgbench {

struct MergeSummary {
    int cells_added = 0;
    int runs_added = 0;
    int runs_present = 0;      ///< the same run was already in the main store (an earlier merge)
    int runs_same_result = 0;  ///< another finished run of the cell with the same result is kept instead
    int runs_superseded = 0;   ///< failed/killed attempts of a cell the main store has finished
    int runs_running = 0;      ///< not copied: still running in the shard (merge again once it ends)
};

/// Copies the shard at `shard_path` into `main` in one transaction: experiments (by name; the main
/// store's row is kept when both have it), cells, experiment links, dropped records, and every run
/// that has ended, with its metrics, artifacts, timings and per-record outputs (an evaluation's
/// pretraining run is re-linked to its copy). Throws std::runtime_error naming both stores when a
/// cell is stored with different configs, when the same run differs, or when a cell has a finished
/// run in each whose results differ (checkpoint sha256 for runs with artifacts, metrics otherwise).
/// Nothing is changed when it throws. With `only_cells`, only those cells, their runs and the
/// experiments linking them are copied (how `submit` seeds the cluster's shards with the cells the
/// main store has finished); dropped records are then left out.
MergeSummary merge_store(Store& main, const std::string& shard_path,
                         const std::optional<std::set<std::string>>& only_cells = std::nullopt);

}  // namespace ecgbench
