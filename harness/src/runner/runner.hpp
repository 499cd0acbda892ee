// Runs an experiment's cells against the store: pretraining once per distinct pretraining cell,
// then every evaluation that uses it. Finished cells are skipped, a failing cell records its error
// and the run goes on, an interruption loses only the cell in flight.
#pragma once

#include "config/experiment.hpp"
#include "config/matrix.hpp"
#include "config/selection.hpp"
#include "preprocess/pipeline.hpp"
#include "registry/registry.hpp"
#include "train/batch_loader.hpp"
#include "store/store.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

class DataParallel;

/// An experiment ready to run: parsed, validated against the loaded plugins, datasets instantiated
/// (only DatasetInfo is computed; records load lazily) and the matrix expanded.
struct PreparedExperiment {
    Experiment experiment;
    std::vector<std::unique_ptr<Dataset>> datasets;  ///< parallel to experiment.datasets
    std::vector<DatasetInfo> dataset_infos;          ///< parallel to experiment.datasets
    std::vector<std::vector<std::string>> leads;     ///< leads used per dataset decl
    std::vector<Pipeline> pipelines;                 ///< declared preprocessing per dataset decl
    std::vector<double> source_rates;                ///< plugin's sampling rate (dataset_infos hold the output's)
    std::vector<std::int64_t> source_samples;        ///< plugin's samples per record, likewise
    Plan plan;
};

/// Parses `file`, validates it against `registry` and expands it. Throws ConfigError for problems
/// in the file and std::runtime_error (naming the dataset) when a dataset plugin refuses its params.
/// `overrides` are `--set KEY=VALUE` changes applied as edits of the file would be.
PreparedExperiment prepare_experiment(const std::string& file, const PluginRegistry& registry,
                                      const std::vector<std::string>& overrides = {});

/// Records the experiment and all its cells in the store; returns the experiment id.
std::int64_t register_experiment(const PreparedExperiment& prepared, Store& store);

struct RunOptions {
    bool force = false;                       ///< redo finished cells (selected ones only)
    /// The cells to run (`--filter`, `--only`); none = all. An unselected pretraining cell runs only
    /// when a selected evaluation needs its missing checkpoint, and is never forced.
    std::optional<Selection> selection;
    bool quiet = false;                       ///< no progress output
    const std::atomic<bool>* stop = nullptr;  ///< set by a signal handler to stop after the current step
    /// Records a dataset plugin hands over at a time (Dataset::stream) are sized to about this
    /// many bytes of raw signal: the memory a split needs while it is read and cached.
    std::int64_t stream_chunk_bytes = std::int64_t{64} << 20;
    /// Pretraining batch gathering. workers < 0 (the default) picks per split: one loader thread
    /// for a memory-mapped (cached) split, whose page faults it takes off the training thread;
    /// none for an in-memory split, where a gathering thread only competes for the cores
    /// (measured: 0.85x the steps/s on 2 cores).
    LoaderOptions loader{-1, 4};
    /// A data-parallel group (`run --nproc N`, srun): rank 0 runs the experiment as usual and every
    /// pretraining cell trains on all ranks (see follow_experiment); null = one process.
    DataParallel* data_parallel = nullptr;
};

struct RunSummary {
    int finished = 0;     ///< cells run to completion now
    int skipped = 0;      ///< cells already finished before
    int failed = 0;       ///< cells that recorded an error
    int busy = 0;         ///< cells another process is running
    bool interrupted = false;
};

/// Runs every selected cell not yet finished (all of them with force). Never throws for a cell's failure.
RunSummary run_experiment(PreparedExperiment& prepared, Store& store, const PluginRegistry& registry,
                          const RunOptions& options);

/// The part of ranks 1..N-1 of a data-parallel group: trains each pretraining cell rank 0 announces
/// (on its share of every batch) until rank 0's run ends. Claims nothing and writes nothing to the
/// store; rank 0 records the cells. Needs options.data_parallel.
void follow_experiment(PreparedExperiment& prepared, Store& store, const PluginRegistry& registry, const RunOptions& options);

/// Directory where checkpoints of `store` live: <store dir>/checkpoints.
std::string checkpoint_dir(const Store& store);
/// Where processed splits are cached (memory-mapped shards): `cache/` beside the store.
std::string cache_dir(const Store& store);

}  // namespace ecgbench
