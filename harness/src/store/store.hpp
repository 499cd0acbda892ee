// The result store: one SQLite file (WAL, busy timeout, foreign keys, versioned migrations) holding
// experiments, cells, runs with provenance, metrics, artifacts and timings. Safe for several
// `ecgbench run` processes on one file: claiming a cell is a single IMMEDIATE transaction, so a
// cell never runs twice at once. No LibTorch here. Schema: README "Store schema".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace ecgbench {

/// Run states (MLflow-like). A run left "running" by a dead process is marked "killed" when the
/// next claimant finds it.
enum class RunStatus { Running, Finished, Failed, Killed };
const char* to_string(RunStatus status);
RunStatus run_status_from_string(const std::string& text);

/// A cell as stored: its identity, canonical config and the descriptive columns the flat view shows.
struct CellRecord {
    std::string hash;
    std::string kind;            ///< "pretrain" or "eval"
    std::string config;          ///< canonical JSON
    std::string parent_hash;     ///< eval: its pretraining cell; pretrain: ""
    std::string dataset;         ///< pretraining dataset name
    std::string encoder;
    std::string ssl;
    std::string task;            ///< eval only
    std::string eval_dataset;    ///< eval only
    std::string protocol;        ///< eval only, e.g. "linear_probe"
    std::string shift;           ///< eval only: the test-time shift condition's name ("" = none declared)
    double label_fraction = 1.0; ///< eval only
    std::int64_t shots = 0;      ///< eval only: k labelled training records per class (0 = label_fraction applies)
    std::int64_t seed = 0;
};

/// Where and with what a run happened.
struct RunProvenance {
    std::string host;
    std::int64_t pid = 0;
    std::string git_commit;        ///< of the ecgbench checkout ("unknown" outside git)
    std::string library_versions;  ///< JSON object: ecgbench, libtorch, sqlite, compiler…
    std::string plugin_versions;   ///< JSON object: plugin name -> version
    std::string extra;             ///< JSON object: anything else (e.g. checkpoint hash evaluated)
};

struct MetricRecord {
    std::string name;
    std::string split;
    double value = 0;
    std::optional<double> ci_low{};
    std::optional<double> ci_high{};
    bool higher_is_better = true;  ///< the metric's direction (reports bold the best accordingly)
};

/// A task's per-record outputs of one split (stored compressed with their sha256).
struct OutputRecord {
    std::string split;
    std::string kind;                     ///< "logits", "predictions", …
    std::vector<std::string> columns;
    std::vector<std::string> record_ids;  ///< one per row
    std::vector<float> values;            ///< row-major [records × columns]
};

struct ArtifactRecord {
    std::string kind;    ///< e.g. "checkpoint"
    std::string path;    ///< absolute or store-relative path
    std::string sha256;
    std::int64_t bytes = 0;
};

struct TimingRecord {
    std::string phase;   ///< e.g. "load_data", "train", "evaluate"
    double seconds = 0;
};

struct RunRecord {
    std::int64_t id = 0;
    std::string cell_hash;
    RunStatus status = RunStatus::Running;
    std::string started_at;  ///< ISO-8601 UTC
    std::string ended_at;    ///< "" while running
    std::string error;
    std::string host;
    std::int64_t pid = 0;
};

/// One row of the `results` view.
struct FlatResult {
    std::string experiment, dataset, encoder, ssl, task, eval_dataset, protocol;
    double label_fraction = 1.0;
    std::int64_t shots = 0;             ///< k-shot cell: k labelled training records per class (0 = none)
    std::int64_t seed = 0;
    std::string metric, split;
    double value = 0;
    std::optional<double> ci_low{}, ci_high{};
    std::string cell_hash;
    bool higher_is_better = true;
    bool pretrain_uses_labels = false;  ///< the pretraining read labels (not self-supervised)
    std::string shift;                  ///< test-time shift condition ("" = none)
    std::int64_t shift_order = 0;       ///< declaration order of shift conditions (for column order)
    std::int64_t run_id = 0;            ///< the finished run the value comes from (its outputs: Store::outputs)
};

/// A record a dataset left out (see Dataset::dropped_records), as stored.
struct DroppedRecordRow {
    std::string record;
    std::string reason;
};

/// An evaluation cell of an experiment with its latest run's state, for reports that show what is
/// missing, running or failed beside what finished.
struct ExperimentEvalCell {
    CellRecord cell;                 ///< its shift is the condition's name
    std::int64_t shift_order = 0;    ///< as FlatResult::shift_order
    std::optional<RunStatus> status; ///< latest run's; nullopt = never ran
    std::string error;               ///< latest run's error ("" unless failed or killed)
    std::optional<RunStatus> pretrain_status;  ///< the pretraining cell's latest run's
    std::string shift_noise;         ///< shift config: noise type or noise record ("" = none)
    std::optional<double> shift_snr_db;        ///< shift config: SNR of the added noise
    std::int64_t shift_leads = 0;    ///< shift config: leads kept (named or random; 0 = all)
    bool shift_band = false;         ///< shift config: a bandwidth or sampling-rate shift applies
    std::int64_t leads = 0;          ///< leads of the evaluation data without a shift
};

/// What a report shows as an experiment's provenance, from the runs of its cells.
struct ExperimentProvenance {
    std::string file, toml_text, updated_at;  ///< as last registered
    struct Run {
        std::int64_t id = 0;
        std::string cell_hash, kind, status, started_at, ended_at, host, git_commit;
        std::string library_versions, plugin_versions;  ///< JSON objects as stored
        double seconds = 0;                             ///< sum of its timings
    };
    std::vector<Run> runs;  ///< latest run of each of the experiment's cells, by id
    struct Dropped {
        std::string dataset, fingerprint;
        std::int64_t records = 0;
    };
    std::vector<Dropped> dropped;  ///< dropped-record counts of the datasets its cells read
};

/// Outcome of trying to claim a cell for running.
struct Claim {
    enum class Result { Claimed, AlreadyFinished, RunningElsewhere } result;
    std::int64_t run_id = 0;  ///< set when Claimed
};

class Store {
public:
    /// Opens (creating if needed) and migrates to the current schema. Throws std::runtime_error
    /// naming the path when the file is not an ecgbench store or is newer than this build.
    explicit Store(const std::string& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    static int current_schema_version();
    int schema_version() const;
    const std::string& path() const { return path_; }

    /// Inserts or updates an experiment by name (its file path and TOML text); returns its id.
    std::int64_t upsert_experiment(const std::string& name, const std::string& file, const std::string& toml_text);
    /// Inserts a cell if new (cells are immutable by hash) and links it to the experiment.
    void upsert_cell(std::int64_t experiment_id, const CellRecord& cell);

    /// Claims a cell: AlreadyFinished if a finished run exists (unless force), RunningElsewhere if a
    /// live run exists, else inserts a "running" run and returns it. A "running" run whose process is
    /// gone (same host, pid not alive) is first marked killed.
    Claim claim(const std::string& cell_hash, const RunProvenance& provenance, bool force);
    /// Marks every "running" run of the store killed with `reason`; returns how many. For a store
    /// that one process owns (a Slurm array task's shard): whatever it holds as running was left by
    /// a predecessor that was killed, possibly on another host, where pids and heartbeats cannot
    /// tell.
    int abandon_running(const std::string& reason);
    /// Marks a run finished with its results, in one transaction.
    void finish(std::int64_t run_id, const std::vector<MetricRecord>& metrics,
                const std::vector<ArtifactRecord>& artifacts, const std::vector<TimingRecord>& timings,
                const std::vector<OutputRecord>& outputs = {});
    /// The per-record outputs stored with a run, decompressed; throws naming the run when the
    /// stored sha256 does not match the data.
    std::vector<OutputRecord> outputs(std::int64_t run_id) const;
    /// Marks a run failed (or killed) with its error text; timings recorded so far are kept.
    void fail(std::int64_t run_id, const std::string& error, RunStatus status = RunStatus::Failed,
              const std::vector<TimingRecord>& timings = {});
    /// Records that a running run is still alive. Call it periodically (well under 6 h apart) during
    /// long work: a "running" run whose heartbeat is older than 6 h is presumed dead by claimants on
    /// any host. No-op when the run is no longer "running"; throws for an unknown run.
    void heartbeat(std::int64_t run_id);
    /// Replaces a run's `extra` provenance JSON (inputs known only once the run has started, such as
    /// the leads and checkpoint an evaluation used). Throws if `json` is not valid JSON.
    void set_run_extra(std::int64_t run_id, const std::string& json);

    /// Latest run of a cell, if any.
    std::optional<RunRecord> latest_run(const std::string& cell_hash) const;
    /// Whether the cell has a finished run (what makes `claim` answer AlreadyFinished).
    bool has_finished(const std::string& cell_hash) const;
    /// The artifact of `kind` from the cell's latest finished run.
    std::optional<ArtifactRecord> finished_artifact(const std::string& cell_hash, const std::string& kind) const;
    /// Metrics of the cell's latest finished run.
    std::vector<MetricRecord> finished_metrics(const std::string& cell_hash) const;
    /// Rows of the `results` view (latest finished run per eval cell) for one experiment.
    std::vector<FlatResult> results(const std::string& experiment) const;
    /// Stores the records a dataset (identified by its fingerprint) left out; idempotent per
    /// (fingerprint, record), one transaction.
    void record_dropped(const std::string& fingerprint, const std::string& dataset,
                        const std::vector<DroppedRecordRow>& records);
    /// The dropped records stored for a dataset fingerprint, ordered by record.
    std::vector<DroppedRecordRow> dropped_records(const std::string& fingerprint) const;
    /// The experiment's evaluation cells (registered by `run`, finished or not), by rowid. Throws
    /// std::runtime_error naming the experiment when it is not stored.
    std::vector<ExperimentEvalCell> experiment_eval_cells(const std::string& experiment) const;
    /// File, configuration, runs and dropped records of an experiment (reports' provenance section).
    ExperimentProvenance experiment_provenance(const std::string& experiment) const;
    /// Names of stored experiments.
    std::vector<std::string> experiments() const;
    /// The stored config of a cell, if known.
    std::optional<CellRecord> cell(const std::string& hash) const;

    /// Direct access for tests and ad-hoc queries.
    SQLite::Database& database() { return *db_; }

    /// Test hook: creates (or migrates) the store at `path` only up to `schema_version`
    /// (1..current_schema_version()), as an older build would have left it, then closes it.
    static void create_at_version_for_testing(const std::string& path, int schema_version);

    // One Store is one SQLite connection: use it from one thread at a time. Several Stores (in
    // one process or many) may share a file; SQLite's locking serialises their writes.

private:
    Store(const std::string& path, int target_version);
    void open(int target_version);
    void check_identity();
    void enable_wal();
    void migrate(int target_version);
    int read_schema_version() const;
    std::string path_;
    std::unique_ptr<SQLite::Database> db_;
};

}  // namespace ecgbench
