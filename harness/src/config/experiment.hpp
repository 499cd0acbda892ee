// Experiment files: parsing and validating the TOML that declares a pretraining matrix and its
// evaluations. Every error names file:line:column, and misspelt keys or plugin names get a
// "did you mean". See README "Experiment file reference" for the format.
#pragma once

#include "ecgbench/params.hpp"
#include "preprocess/step.hpp"
#include "shift/shift_decl.hpp"
#include "ecgbench/plugin.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecgbench {

/// A position in an experiment file.
struct SourceLocation {
    std::string file;
    int line = 0;
    int column = 0;
    std::string str() const;  ///< "file:line:column" (or just "file" when line is 0)
};

/// A problem in an experiment file; what() starts with "file:line:column: ".
class ConfigError : public std::runtime_error {
public:
    ConfigError(const SourceLocation& where, const std::string& message);
    const SourceLocation& where() const { return where_; }

private:
    SourceLocation where_;
};

/// A plugin reference: which plugin and its raw parameters (validated later against its manifest).
struct PluginRef {
    std::string plugin;                         ///< plugin name
    std::map<std::string, ParamValue> raw;      ///< params as written
    Params params;                              ///< validated, defaults filled (after validate_experiment)
    std::string version;                        ///< plugin version (after validate_experiment)
    std::vector<std::string> file_params;       ///< names of its File params (after validate_experiment)
    SourceLocation where;                       ///< location of the `plugin` key
    std::map<std::string, SourceLocation> param_where;  ///< location of each raw param
};

/// [[dataset]]: a named dataset instance, usable for pretraining and/or evaluation.
struct DatasetDecl {
    std::string name;                  ///< unique within the experiment
    PluginRef ref;
    std::vector<std::string> leads;    ///< canonical lead names to use; empty = all the dataset has
    std::vector<PreprocessStep> preprocess;  ///< `preprocess` steps, in order (validated)
    bool cache = true;                 ///< keep processed splits as memory-mapped shards beside the store
    SourceLocation where;
};

/// [[ssl]] only: the training budget a method sets for itself (`pretrain = { epochs = 50 }`),
/// each key replacing [pretrain]'s for its cells (a masked method that needs more steps, say).
struct BudgetOverride {
    std::optional<std::int64_t> epochs, max_steps;
    std::optional<double> learning_rate, weight_decay;
};

/// [[encoder]] and [[ssl]]: named plugin instances.
struct ModelDecl {
    std::string name;
    PluginRef ref;
    SourceLocation where;
    std::vector<std::string> encoders;  ///< [[ssl]] only: names of the encoders it pairs with (empty = every encoder)
    BudgetOverride budget;              ///< [[ssl]] only
};

/// Whether the matrix pairs SSL method `ssl` with the encoder named `encoder` (its `encoders` list).
bool pairs_with(const ModelDecl& ssl, const std::string& encoder);

/// [pretrain]: the matrix axes that are not plugins, and the training budget.
struct PretrainDecl {
    std::vector<std::string> datasets;  ///< names of [[dataset]] entries to pretrain on
    std::vector<std::int64_t> seeds{0};
    std::int64_t epochs = 10;
    std::int64_t batch_size = 64;
    std::int64_t max_steps = 0;         ///< 0 = no cap beyond epochs
    double learning_rate = 1e-3;
    double weight_decay = 1e-4;
    std::string device = "cpu";         ///< "cpu", "cuda" or "auto"
    std::string optimizer = "adamw";    ///< "adamw" or "sgd"
    double momentum = 0.9;              ///< sgd only
    double warmup_fraction = 0.05;      ///< linear warm-up share of the steps, then cosine decay
    double grad_clip_norm = 0;          ///< global gradient-norm clip; 0 = off
    double ema_decay = 0;               ///< EMA of the weights, ended on; 0 = off
    std::string precision = "fp32";     ///< "fp32" or "bf16" (autocast)
    std::int64_t checkpoint_every = 0;  ///< resume state every N steps; 0 = the runner's default
    SourceLocation where;
};

/// [[evaluation]]: a task run on held-out datasets for every pretrained encoder.
struct EvaluationDecl {
    std::string name;
    PluginRef task;
    std::vector<std::string> datasets;          ///< names of [[dataset]] entries
    std::vector<double> label_fractions{1.0};   ///< fraction of the training split's labels used
    std::vector<std::int64_t> shots;            ///< k-shot cells: k labelled training records per class (seeded)
    /// Test-time shift conditions, one cell each; the default is one entry without a shift.
    std::vector<ShiftDecl> shifts{ShiftDecl{}};
    /// Leave-one-dataset-out: for each of `datasets`, the head is fitted on the union of the others'
    /// train (and val) splits and tested on its test split.
    bool leave_one_out = false;
    SourceLocation where;
    /// The task needs "class_descriptions" (set by validate_experiment): the evaluation dataset's
    /// class descriptions (zero-shot prompts by default) then enter the cell identity.
    bool reads_class_descriptions = false;
};

/// What one Slurm array task asks for (sbatch options; docs/slurm.md). Unset fields ("" or 0) leave
/// the cluster's default.
struct SlurmResources {
    std::string partition;  ///< --partition
    std::string time;       ///< --time in Slurm's formats: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S"
    std::int64_t cpus = 0;  ///< --cpus-per-task, and ecgbench's --threads in the task
    std::int64_t gpus = 0;  ///< --gpus
    std::string mem;        ///< --mem: an integer with an optional K, M, G or T suffix
    std::int64_t ranks = 1; ///< [slurm.pretrain] only: data-parallel processes per cell (--ntasks, srun … --distributed)
};

/// [slurm]: resources for `ecgbench submit --slurm`, with [slurm.pretrain] and [slurm.evaluate]
/// overriding the shared keys per kind of array task. Not part of any cell's identity.
struct SlurmDecl {
    std::string shared;               ///< directory every node sees (store shards, checkpoints, cache); "" = --shared
    std::int64_t cells_per_task = 1;  ///< pretraining cells (with their evaluations) per array task
    SlurmResources pretrain, evaluate;
    SourceLocation where;
};

struct Experiment {
    std::string name;
    std::string description;
    std::string file;       ///< path it was read from
    std::string toml_text;  ///< the file's text, stored with the experiment
    std::vector<std::string> overrides;  ///< `--set KEY=VALUE` applied on top of the file, in order
    std::vector<DatasetDecl> datasets;
    std::vector<ModelDecl> encoders;
    std::vector<ModelDecl> ssl_methods;
    PretrainDecl pretrain;
    std::vector<EvaluationDecl> evaluations;
    SlurmDecl slurm;

    const DatasetDecl& dataset(const std::string& name) const;  ///< throws std::out_of_range
};

/// [pretrain] as the cells of [[ssl]] entry `ssl` train: its `pretrain` overrides applied.
PretrainDecl pretrain_for(const Experiment& experiment, std::size_t ssl);

/// Parses and checks structure: required tables/keys, types, unknown keys, cross references
/// (dataset names), duplicate names. `overrides` ("KEY=VALUE", see config/overrides.hpp) change
/// the document before it is read, as edits of the file would. Throws ConfigError.
Experiment parse_experiment_text(const std::string& text, const std::string& file,
                                 const std::vector<std::string>& overrides = {});
/// Reads `path` and parses it. Throws ConfigError (also for an unreadable file).
Experiment parse_experiment_file(const std::string& path, const std::vector<std::string>& overrides = {});

/// Checks every plugin reference against the available manifests (unknown plugin, wrong kind,
/// unknown/mistyped/out-of-range param, with did-you-mean) and fills PluginRef::params/version.
void validate_experiment(Experiment& experiment, const std::vector<PluginManifest>& available);

}  // namespace ecgbench
