#include "config/capabilities.hpp"

#include <algorithm>
#include <set>

namespace ecgbench {

namespace {

const PluginManifest& manifest_of(const std::vector<PluginManifest>& manifests, const std::string& name) {
    for (const auto& m : manifests)
        if (m.name == name) return m;
    throw std::invalid_argument("no manifest for plugin '" + name + "'");  // validate_experiment ran before
}

std::string list(const std::set<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out.empty() ? "nothing" : out;
}

}  // namespace

std::vector<std::string> dataset_capabilities(const DatasetInfo& info) {
    std::vector<std::string> out;
    if (!info.classes.empty()) out.push_back("labels");
    if (info.has_texts) out.push_back("texts");
    if (!info.class_descriptions.empty()) out.push_back("class_descriptions");
    for (const auto& name : info.covariates) out.push_back("covariate:" + name);
    return out;
}

void check_capabilities(const Experiment& experiment, const std::vector<DatasetInfo>& infos,
                        const std::vector<PluginManifest>& manifests) {
    auto index_of = [&](const std::string& dataset) {
        for (std::size_t i = 0; i < experiment.datasets.size(); ++i)
            if (experiment.datasets[i].name == dataset) return i;
        throw std::invalid_argument("undeclared dataset '" + dataset + "'");
    };
    // Everything the dataset, the encoder and the method of one pretraining cell bring together.
    auto available = [&](std::size_t dataset, const ModelDecl& encoder, const ModelDecl& ssl) {
        std::set<std::string> have;
        for (const auto& c : dataset_capabilities(infos[dataset])) have.insert(c);
        for (const auto& c : manifest_of(manifests, encoder.ref.plugin).provides) have.insert(c);
        for (const auto& c : manifest_of(manifests, ssl.ref.plugin).provides) have.insert(c);
        return have;
    };
    auto require = [&](const std::set<std::string>& have, const std::string& who,
                       const std::string& plugin, const SourceLocation& where, const std::string& context) {
        for (const auto& need : manifest_of(manifests, plugin).needs)
            if (!have.count(need))
                throw ConfigError(where, who + " (plugin '" + plugin + "') needs '" + need + "', which " + context +
                                             " does not provide (available: " + list(have) + ")");
    };
    for (const auto& dataset_name : experiment.pretrain.datasets) {
        const std::size_t d = index_of(dataset_name);
        for (const auto& encoder : experiment.encoders)
            for (const auto& ssl : experiment.ssl_methods) {
                if (!pairs_with(ssl, encoder.name)) continue;
                const auto have = available(d, encoder, ssl);
                const std::string context = "pretraining dataset '" + dataset_name + "' with encoder '" + encoder.name +
                                            "' and SSL method '" + ssl.name + "'";
                require(have, "encoder '" + encoder.name + "'", encoder.ref.plugin, encoder.ref.where, context);
                require(have, "SSL method '" + ssl.name + "'", ssl.ref.plugin, ssl.ref.where, context);
            }
    }
    for (const auto& evaluation : experiment.evaluations)
        for (const auto& dataset_name : evaluation.datasets) {
            const std::size_t d = index_of(dataset_name);
            for (const auto& encoder : experiment.encoders)
                for (const auto& ssl : experiment.ssl_methods) {
                    if (!pairs_with(ssl, encoder.name)) continue;
                    const auto have = available(d, encoder, ssl);
                    require(have, "evaluation '" + evaluation.name + "'", evaluation.task.plugin, evaluation.task.where,
                            "evaluation dataset '" + dataset_name + "' with encoder '" + encoder.name + "' and SSL method '" +
                                ssl.name + "'");
                }
        }
}

}  // namespace ecgbench
