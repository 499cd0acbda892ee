// Matrix expansion and cell identities.
//
// A cell's hash must change exactly when its result could: so the canonical JSON holds plugin
// names, versions, validated params (defaults included, so a changed default changes the hash
// only through the plugin's version bump or the explicit value), dataset fingerprints, leads,
// budget and seed, and leaves out user labels (decl names, description) and the device.
// The JSON is produced by a small writer rather than a library so that its bytes are fully
// specified here: keys sorted bytewise, no whitespace, shortest round-trip numbers.
#include "config/matrix.hpp"

#include "util/json.hpp"
#include "ecgbench/sha256.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace ecgbench {
namespace {


std::string json_plugin(const PluginRef& ref) {
    return json_object({{"plugin", json_string(ref.plugin)},
                        {"version", json_string(ref.version)},
                        {"params", json_params(ref.params)}});
}

std::string json_dataset(const DatasetDecl& decl, const DatasetIdentity& identity) {
    JsonObject object{{"plugin", json_string(decl.ref.plugin)},
                      {"version", json_string(decl.ref.version)},
                      {"params", json_params(decl.ref.params)},
                      {"fingerprint", json_string(identity.fingerprint)},
                      {"data_version", json_string(identity.version)},
                      {"leads", json_strings(identity.leads)},
                      {"sampling_rate_hz", json_number(identity.sampling_rate_hz)}};
    // Only when declared, so cells of datasets without a pipeline keep their identities.
    if (!identity.preprocess_json.empty()) object["preprocess"] = identity.preprocess_json;
    return json_object(object);
}

std::size_t dataset_index(const Experiment& experiment, const std::string& name) {
    for (std::size_t i = 0; i < experiment.datasets.size(); ++i) {
        if (experiment.datasets[i].name == name) return i;
    }
    throw std::invalid_argument("experiment refers to undeclared dataset '" + name + "'");
}

}  // namespace

Plan expand(const Experiment& experiment, const std::map<std::string, DatasetIdentity>& identities) {
    // Each dataset's JSON is needed many times; build it once, and only for datasets in use so
    // that an unused declaration needs no identity.
    std::map<std::size_t, std::string> dataset_json;
    auto dataset_config = [&](std::size_t index) -> const std::string& {
        auto cached = dataset_json.find(index);
        if (cached != dataset_json.end()) return cached->second;
        const DatasetDecl& decl = experiment.datasets[index];
        auto identity = identities.find(decl.name);
        if (identity == identities.end())
            throw std::invalid_argument("no identity (fingerprint, version, leads) for dataset '" + decl.name + "'");
        return dataset_json.emplace(index, json_dataset(decl, identity->second)).first->second;
    };

    const PretrainDecl& pretrain = experiment.pretrain;
    JsonObject budget_fields{{"epochs", json_number(pretrain.epochs)},
                             {"batch_size", json_number(pretrain.batch_size)},
                             {"max_steps", json_number(pretrain.max_steps)},
                             {"learning_rate", json_number(pretrain.learning_rate)},
                             {"weight_decay", json_number(pretrain.weight_decay)}};
    // Settings added with the shared training engine enter the identity only when they differ
    // from what the loop always did (AdamW, 5 % warm-up, no clipping, no EMA, fp32), so cells
    // written before them keep their hashes. checkpoint_every and device never change a result.
    const PretrainDecl defaults;
    if (pretrain.optimizer != defaults.optimizer) budget_fields["optimizer"] = json_string(pretrain.optimizer);
    if (pretrain.optimizer == "sgd") budget_fields["momentum"] = json_number(pretrain.momentum);
    if (pretrain.warmup_fraction != defaults.warmup_fraction) budget_fields["warmup_fraction"] = json_number(pretrain.warmup_fraction);
    if (pretrain.grad_clip_norm != defaults.grad_clip_norm) budget_fields["grad_clip_norm"] = json_number(pretrain.grad_clip_norm);
    if (pretrain.ema_decay != defaults.ema_decay) budget_fields["ema_decay"] = json_number(pretrain.ema_decay);
    if (pretrain.precision != defaults.precision) budget_fields["precision"] = json_string(pretrain.precision);
    const std::string budget = json_object(budget_fields);

    Plan plan;
    for (const std::string& dataset_name : pretrain.datasets) {
        const std::size_t dataset = dataset_index(experiment, dataset_name);
        for (std::size_t encoder = 0; encoder < experiment.encoders.size(); ++encoder) {
            for (std::size_t ssl = 0; ssl < experiment.ssl_methods.size(); ++ssl) {
                if (!pairs_with(experiment.ssl_methods[ssl], experiment.encoders[encoder].name)) continue;
                for (std::int64_t seed : pretrain.seeds) {
                    PretrainCell cell;
                    cell.dataset = dataset;
                    cell.encoder = encoder;
                    cell.ssl = ssl;
                    cell.seed = seed;
                    cell.config = json_object({{"kind", json_string("pretrain")},
                                               {"dataset", dataset_config(dataset)},
                                               {"encoder", json_plugin(experiment.encoders[encoder].ref)},
                                               {"ssl", json_plugin(experiment.ssl_methods[ssl].ref)},
                                               {"budget", budget},
                                               {"seed", json_number(seed)}});
                    cell.hash = sha256_hex(cell.config);
                    plan.pretrain.push_back(std::move(cell));
                }
            }
        }
    }

    for (std::size_t pretrained = 0; pretrained < plan.pretrain.size(); ++pretrained) {
        const PretrainCell& source = plan.pretrain[pretrained];
        for (std::size_t evaluation = 0; evaluation < experiment.evaluations.size(); ++evaluation) {
            const EvaluationDecl& decl = experiment.evaluations[evaluation];
            const std::string task = json_plugin(decl.task);
            for (const std::string& dataset_name : decl.datasets) {
                const std::size_t dataset = dataset_index(experiment, dataset_name);
                for (double fraction : decl.label_fractions) {
                    for (std::size_t shift = 0; shift < decl.shifts.size(); ++shift) {
                        EvalCell cell;
                        cell.pretrain_hash = source.hash;
                        cell.pretrain = pretrained;
                        cell.evaluation = evaluation;
                        cell.dataset = dataset;
                        cell.label_fraction = fraction;
                        cell.shift = shift;
                        cell.seed = source.seed;
                        JsonObject config{{"kind", json_string("eval")},
                                          {"pretrain", json_string(source.hash)},
                                          {"task", task},
                                          {"dataset", dataset_config(dataset)},
                                          {"label_fraction", json_number(fraction)},
                                          {"seed", json_number(cell.seed)}};
                        // Only a shift that changes the data enters the identity: cells without one
                        // keep the hashes (and results) they had before shifts existed.
                        if (decl.shifts[shift].changes_data()) config["shift"] = decl.shifts[shift].identity_json();
                        // A task reading class descriptions (zero-shot prompts) depends on them; other
                        // tasks' cells keep their identities when a dataset gains descriptions.
                        if (decl.reads_class_descriptions)
                            config["class_descriptions_sha256"] =
                                json_string(sha256_hex(identities.at(dataset_name).class_descriptions_json));
                        cell.config = json_object(config);
                        cell.hash = sha256_hex(cell.config);
                        plan.evaluations.push_back(std::move(cell));
                    }
                }
            }
        }
    }
    return plan;
}

}  // namespace ecgbench
