// Matrix expansion and cell identities.
//
// A cell's hash must change exactly when its result could: so the canonical JSON holds plugin
// names, versions, validated params (defaults included, so a changed default changes the hash
// only through the plugin's version bump or the explicit value), dataset fingerprints, leads,
// budget and seed, and leaves out user labels (decl names, description) and the device.
// The JSON value is built with nlohmann::json and written by canonical_json (util/json.hpp), whose
// bytes are specified there: keys sorted bytewise, no whitespace, shortest round-trip numbers.
#include "config/matrix.hpp"

#include "util/json.hpp"
#include "ecgbench/sha256.hpp"

#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>

namespace ecgbench {
namespace {


// The SHA-256 of each set File param's file, by param name: what the plugin will read enters the
// identity, not only its path. Absent when no File param is set, so other cells keep their hashes.
void add_file_digests(Json& object, const PluginRef& ref) {
    Json digests = Json::object();
    for (const std::string& name : ref.file_params) {
        const std::string& path = ref.params.get_string(name);
        if (path.empty()) continue;
        if (!std::filesystem::is_regular_file(path))
            throw std::invalid_argument("plugin '" + ref.plugin + "': param '" + name + "' names file '" + path +
                                        "', which does not exist (or is not a regular file)");
        digests[name] = sha256_file(path);
    }
    if (!digests.empty()) object["file_sha256"] = std::move(digests);
}

// Parameters added to a shipped plugin after its cells were stored, whose default is what the plugin
// did before: at that default they stay out of the identity, so stored results keep their cells;
// any other value enters it. (Other parameters enter with their defaults: see the file comment.)
struct AddedParam {
    const char* plugin;
    const char* param;
    const char* default_json;  ///< the default as JSON text
};
constexpr AddedParam kAddedParams[] = {
    {"linear_probe", "covariates_at_test", R"("observed")"},
    {"heartlang", "vocabulary", R"("kmeans")"},
    {"heartlang", "vq_steps", "3000"},
};

Json json_plugin(const PluginRef& ref) {
    Json params = json_params(ref.params);
    for (const AddedParam& added : kAddedParams)
        if (ref.plugin == added.plugin && params.contains(added.param) && params[added.param] == Json::parse(added.default_json))
            params.erase(added.param);
    Json object{{"plugin", ref.plugin}, {"version", ref.version}, {"params", std::move(params)}};
    add_file_digests(object, ref);
    return object;
}

Json json_dataset(const DatasetDecl& decl, const DatasetIdentity& identity) {
    Json object{{"plugin", decl.ref.plugin},
                {"version", decl.ref.version},
                {"params", json_params(decl.ref.params)},
                {"fingerprint", identity.fingerprint},
                {"data_version", identity.version},
                {"leads", identity.leads},
                {"sampling_rate_hz", identity.sampling_rate_hz}};
    add_file_digests(object, decl.ref);
    // Only when declared, so cells of datasets without a pipeline keep their identities.
    if (!identity.preprocess.empty()) object["preprocess"] = identity.preprocess;
    return object;
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
    std::map<std::size_t, Json> dataset_json;
    auto dataset_config = [&](std::size_t index) -> const Json& {
        auto cached = dataset_json.find(index);
        if (cached != dataset_json.end()) return cached->second;
        const DatasetDecl& decl = experiment.datasets[index];
        auto identity = identities.find(decl.name);
        if (identity == identities.end())
            throw std::invalid_argument("no identity (fingerprint, version, leads) for dataset '" + decl.name + "'");
        return dataset_json.emplace(index, json_dataset(decl, identity->second)).first->second;
    };

    const PretrainDecl& pretrain = experiment.pretrain;
    // The budget each [[ssl]] entry trains with ([pretrain] and the entry's own overrides): equal
    // budgets give equal identities, whichever table a value came from.
    const auto budget_of = [&](std::size_t ssl) {
        const PretrainDecl b = pretrain_for(experiment, ssl);
        Json budget{{"epochs", b.epochs},
                    {"batch_size", b.batch_size},
                    {"max_steps", b.max_steps},
                    {"learning_rate", b.learning_rate},
                    {"weight_decay", b.weight_decay}};
        // Settings added with the shared training engine enter the identity only when they differ
        // from what the loop always did (AdamW, 5 % warm-up, no clipping, no EMA, fp32), so cells
        // written before them keep their hashes. checkpoint_every and device never change a result.
        const PretrainDecl defaults;
        if (b.optimizer != defaults.optimizer) budget["optimizer"] = b.optimizer;
        if (b.optimizer == "sgd") budget["momentum"] = b.momentum;
        if (b.warmup_fraction != defaults.warmup_fraction) budget["warmup_fraction"] = b.warmup_fraction;
        if (b.grad_clip_norm != defaults.grad_clip_norm) budget["grad_clip_norm"] = b.grad_clip_norm;
        if (b.ema_decay != defaults.ema_decay) budget["ema_decay"] = b.ema_decay;
        if (b.precision != defaults.precision) budget["precision"] = b.precision;
        return budget;
    };

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
                    cell.config = canonical_json({{"kind", "pretrain"},
                                                  {"dataset", dataset_config(dataset)},
                                                  {"encoder", json_plugin(experiment.encoders[encoder].ref)},
                                                  {"ssl", json_plugin(experiment.ssl_methods[ssl].ref)},
                                                  {"budget", budget_of(ssl)},
                                                  {"seed", seed}});
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
            const Json task = json_plugin(decl.task);
            for (const std::string& dataset_name : decl.datasets) {
                const std::size_t dataset = dataset_index(experiment, dataset_name);
                // Label budgets: each fraction, then each k-shot count (k records per class).
                std::vector<std::pair<double, std::int64_t>> budgets;
                for (double fraction : decl.label_fractions) budgets.emplace_back(fraction, 0);
                for (std::int64_t k : decl.shots) budgets.emplace_back(1.0, k);
                for (const auto& [fraction, shots] : budgets) {
                    for (std::size_t shift = 0; shift < decl.shifts.size(); ++shift) {
                        EvalCell cell;
                        cell.pretrain_hash = source.hash;
                        cell.pretrain = pretrained;
                        cell.evaluation = evaluation;
                        cell.dataset = dataset;
                        cell.label_fraction = fraction;
                        cell.shots = shots;
                        cell.shift = shift;
                        cell.test_dataset =
                            decl.shifts[shift].test_dataset.empty() ? dataset : dataset_index(experiment, decl.shifts[shift].test_dataset);
                        cell.seed = source.seed;
                        Json config{{"kind", "eval"},
                                    {"pretrain", source.hash},
                                    {"task", task},
                                    {"dataset", dataset_config(dataset)},
                                    {"label_fraction", fraction},
                                    {"seed", cell.seed}};
                        if (decl.leave_one_out) {
                            Json fit = Json::array();
                            for (const auto& other : decl.datasets)
                                if (other != dataset_name) {
                                    cell.fit_datasets.push_back(dataset_index(experiment, other));
                                    fit.push_back(dataset_config(cell.fit_datasets.back()));
                                }
                            config["fit_datasets"] = fit;
                        }
                        if (shots > 0) config["shots"] = shots;  // absent otherwise: older cells keep their hashes
                        // Only a shift that changes the data enters the identity: cells without one
                        // keep the hashes (and results) they had before shifts existed.
                        if (const ShiftDecl& condition = decl.shifts[shift]; condition.changes_data()) {
                            config["shift"] = condition.identity();
                            if (cell.test_dataset != dataset) config["shift"]["test_dataset"] = dataset_config(cell.test_dataset);
                        }
                        // A task reading class descriptions (zero-shot prompts) depends on them; other
                        // tasks' cells keep their identities when a dataset gains descriptions.
                        if (decl.reads_class_descriptions)
                            config["class_descriptions_sha256"] = sha256_hex(identities.at(dataset_name).class_descriptions_json);
                        cell.config = canonical_json(config);
                        cell.hash = sha256_hex(cell.config);
                        plan.evaluations.push_back(std::move(cell));
                    }
                }
            }
        }
    }
    return plan;
}

std::string label_budget_text(const EvalCell& cell) {
    if (cell.shots > 0) return "labels " + std::to_string(cell.shots) + "-shot";
    std::ostringstream out;
    out << "labels " << cell.label_fraction * 100 << "%";
    return out.str();
}

}  // namespace ecgbench
