#include "runner/export.hpp"

#include "runner/checkpoint.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>

namespace ecgbench {

namespace {

/// The encoder's validated params from the cell's canonical config (json_each gives each value
/// with its JSON type).
Params encoder_params(SQLite::Database& db, const std::string& hash, const PluginManifest& manifest) {
    SQLite::Statement q(db, "SELECT key, type, value FROM cells, json_each(cells.config, '$.encoder.params') WHERE hash = ?");
    q.bind(1, hash);
    std::map<std::string, ParamValue> given;
    while (q.executeStep()) {
        const std::string key = q.getColumn(0).getString(), type = q.getColumn(1).getString();
        if (type == "integer") given[key] = static_cast<std::int64_t>(q.getColumn(2).getInt64());
        else if (type == "real") given[key] = q.getColumn(2).getDouble();
        else if (type == "true" || type == "false") given[key] = type == "true";
        else if (type == "text") given[key] = q.getColumn(2).getString();
        else if (type == "array") {
            SQLite::Statement items(db, "SELECT value FROM json_each(?)");
            items.bind(1, q.getColumn(2).getString());
            std::vector<std::string> values;
            while (items.executeStep()) values.push_back(items.getColumn(0).getString());
            given[key] = values;
        }
    }
    return validate_params(manifest.params, given);
}

std::string attribute_name(const std::string& dotted) {
    std::string name = dotted;
    for (char& c : name)
        if (c == '.') c = '_';
    return name;
}

}  // namespace

ExportResult export_encoder(Store& store, const PluginRegistry& registry, const std::string& cell_prefix, const std::string& out) {
    if (cell_prefix.size() < 6) throw std::runtime_error("export: give at least 6 hex digits of the pretraining cell's hash");
    auto& db = store.database();
    SQLite::Statement find(db, "SELECT hash, json_extract(config, '$.encoder.plugin') FROM cells "
                               "WHERE kind = 'pretrain' AND hash LIKE ? || '%' ORDER BY hash");
    find.bind(1, cell_prefix);
    std::vector<std::pair<std::string, std::string>> matches;
    while (find.executeStep()) matches.emplace_back(find.getColumn(0).getString(), find.getColumn(1).getString());
    if (matches.empty()) throw std::runtime_error("export: no pretraining cell " + cell_prefix + "… in " + store.path());
    if (matches.size() > 1) throw std::runtime_error("export: " + cell_prefix + "… matches " + std::to_string(matches.size()) + " cells; give more digits");
    const auto& [hash, plugin] = matches.front();
    const auto checkpoint = store.finished_artifact(hash, "checkpoint");
    if (!checkpoint) throw std::runtime_error("export: pretraining cell " + hash.substr(0, 10) + " has no finished checkpoint");

    SQLite::Statement input(db, "SELECT json_extract(extra, '$.encoder_input.samples'), json_extract(extra, '$.encoder_input.sampling_rate_hz'), "
                                "json_extract(extra, '$.encoder_input.leads') FROM runs WHERE cell_hash = ? AND status = 'finished' "
                                "ORDER BY id DESC LIMIT 1");
    input.bind(1, hash);
    if (!input.executeStep() || input.getColumn(0).isNull())
        throw std::runtime_error("export: the run of cell " + hash.substr(0, 10) +
                                 " did not record its encoder input (written by ecgbench 0.2 and later; rerun it with --force)");
    EncoderInput encoder_input;
    encoder_input.samples = input.getColumn(0).getInt64();
    encoder_input.sampling_rate_hz = input.getColumn(1).getDouble();
    SQLite::Statement leads(db, "SELECT value FROM json_each(?)");
    leads.bind(1, input.getColumn(2).getString());
    while (leads.executeStep()) encoder_input.lead_names.push_back(leads.getColumn(0).getString());
    encoder_input.leads = static_cast<std::int64_t>(encoder_input.lead_names.size());

    const auto& manifest = registry.require(plugin, PluginKind::Encoder).manifest();
    auto encoder = registry.make_encoder(plugin, encoder_params(db, hash, manifest), encoder_input);
    load_encoder(*encoder, checkpoint->path);
    encoder->eval();

    // Every parameter and buffer becomes an attribute of the TorchScript module: the tracer then
    // records reads of them as attribute accesses rather than baking them in as constants.
    torch::jit::Module module("ecgbench_encoder");
    for (const auto& p : encoder->named_parameters()) module.register_parameter(attribute_name(p.key()), p.value(), false);
    for (const auto& b : encoder->named_buffers()) module.register_buffer(attribute_name(b.key()), b.value());
    torch::manual_seed(0);
    const at::Tensor example = torch::randn({4, encoder_input.leads, encoder_input.samples});
    at::Tensor expected;
    {
        torch::NoGradGuard no_grad;
        expected = encoder->forward(example).clone();
    }
    auto traced = torch::jit::tracer::trace(
        {example},
        [&](torch::jit::Stack inputs) -> torch::jit::Stack {
            torch::NoGradGuard no_grad;
            return {encoder->forward(inputs.at(0).toTensor())};
        },
        [](const at::Tensor&) { return std::string(); }, /*strict=*/false, /*force_outplace=*/false, &module);
    auto graph = traced.first->graph;
    auto function = module._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*module.type()->name(), "forward"), graph);
    module.type()->addMethod(function);
    module.register_buffer("example_input", example);
    module.register_buffer("example_output", expected);
    std::filesystem::create_directories(std::filesystem::absolute(out).parent_path());
    module.save(out);

    // Reload from disk and compare, as a consumer would.
    torch::jit::Module loaded = torch::jit::load(out);
    loaded.eval();
    torch::NoGradGuard no_grad;
    const at::Tensor got = loaded.forward({example}).toTensor();
    const double difference = (got - expected).abs().max().item<double>();
    if (!(difference <= 1e-5))
        throw std::runtime_error("export: the traced module differs from the encoder by " + std::to_string(difference) +
                                 " on the example batch (an encoder with data-dependent control flow cannot be traced)");
    return {hash, out, difference};
}

}  // namespace ecgbench
