// Expansion of an experiment into cells. A pretraining cell is one (dataset, encoder, ssl, seed,
// budget); an evaluation cell is one (pretraining cell, task, evaluation dataset, label fraction).
// Each cell's identity is the SHA-256 of its canonical configuration (sorted-key JSON) which holds
// everything that determines its result: plugin names, versions and validated params, dataset
// fingerprints, leads, budget and seed. Identical pretraining configs across evaluations (or across
// experiments) hash the same, so they are trained once.
#pragma once

#include "config/experiment.hpp"
#include "util/json.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ecgbench {

struct PretrainCell {
    std::string hash;            ///< sha256 hex of `config`
    std::string config;          ///< canonical JSON
    std::size_t dataset = 0;     ///< index into Experiment::datasets
    std::size_t encoder = 0;     ///< index into Experiment::encoders
    std::size_t ssl = 0;         ///< index into Experiment::ssl_methods
    std::int64_t seed = 0;
};

struct EvalCell {
    std::string hash;
    std::string config;
    std::string pretrain_hash;   ///< the pretraining cell whose encoder it evaluates
    std::size_t pretrain = 0;    ///< index into Plan::pretrain
    std::size_t evaluation = 0;  ///< index into Experiment::evaluations
    std::size_t dataset = 0;     ///< index into Experiment::datasets
    double label_fraction = 1.0;
    std::int64_t shots = 0;      ///< k labelled training records per class (0 = the label fraction applies)
    std::size_t shift = 0;       ///< index into EvaluationDecl::shifts
    std::size_t test_dataset = 0;  ///< index into Experiment::datasets of the test split: `dataset` unless a cross-dataset shift
    std::vector<std::size_t> fit_datasets;  ///< leave-one-out: the datasets whose train/val splits fit the head (empty = `dataset`)
    std::int64_t seed = 0;
};

struct Plan {
    std::vector<PretrainCell> pretrain;
    std::vector<EvalCell> evaluations;
};

/// Dataset identity known only after instantiating the plugin (DatasetInfo fields).
struct DatasetIdentity {
    std::string fingerprint;
    std::string version;
    double sampling_rate_hz = 0;
    std::vector<std::string> leads;  ///< leads actually used (declared leads or all available)
    Json preprocess = Json::array();  ///< the declared pipeline's steps (Pipeline::json; empty = none)
    std::string class_descriptions_json;  ///< canonical JSON of DatasetInfo::class_descriptions ("" = none)
};

/// "labels 10%" or "labels 5-shot": the share of the training split's labels a cell uses, as cell
/// labels (`plan`, `--filter`) and progress lines print it.
std::string label_budget_text(const EvalCell& cell);

/// Expands a validated experiment. `identities` maps dataset decl name -> identity.
Plan expand(const Experiment& experiment, const std::map<std::string, DatasetIdentity>& identities);

}  // namespace ecgbench
