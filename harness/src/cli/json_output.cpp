#include "cli/json_output.hpp"

#include <cmath>
#include <map>
#include <optional>

#include "util/json.hpp"

namespace ecgbench {
namespace {

// A missing or non-finite number is null.
Json json_optional(const std::optional<double>& value) {
    return value && std::isfinite(*value) ? Json(*value) : Json();
}

Json plugin_object(const LoadedPlugin& plugin) {
    const PluginManifest& m = plugin.manifest();
    Json params = Json::array();
    for (const ParamSpec& p : m.params)
        params.push_back(Json{{"name", p.name},
                              {"type", to_string(p.type)},
                              {"default", json_param_value(p.default_value)},
                              {"doc", p.doc},
                              {"min", json_optional(p.min)},
                              {"max", json_optional(p.max)},
                              {"choices", p.choices}});
    return Json{{"name", m.name},      {"kind", to_string(m.kind)}, {"version", m.version}, {"summary", m.summary},
                {"path", plugin.path}, {"params", params},          {"needs", m.needs},     {"provides", m.provides}};
}

Json counts_object(const std::map<std::string, int>& counts) { return Json(counts); }

/// The fields a cell has in plan and status documents; `status` is its latest run's state or "todo".
Json pretrain_fields(const PreparedExperiment& prepared, std::size_t p) {
    const auto& exp = prepared.experiment;
    const PretrainCell& cell = prepared.plan.pretrain[p];
    return {{"hash", cell.hash},
            {"kind", "pretrain"},
            {"label", pretrain_label(exp, cell)},
            {"dataset", exp.datasets[cell.dataset].name},
            {"encoder", exp.encoders[cell.encoder].name},
            {"ssl", exp.ssl_methods[cell.ssl].name},
            {"seed", cell.seed}};
}

Json eval_fields(const PreparedExperiment& prepared, std::size_t e) {
    const auto& exp = prepared.experiment;
    const EvalCell& cell = prepared.plan.evaluations[e];
    Json object = pretrain_fields(prepared, cell.pretrain);
    const auto& evaluation = exp.evaluations[cell.evaluation];
    object["hash"] = cell.hash;
    object["kind"] = "eval";
    object["label"] = eval_label(exp, prepared.plan, cell);
    object["pretrain_hash"] = cell.pretrain_hash;
    object["evaluation"] = evaluation.name;
    object["task"] = evaluation.task.plugin;
    object["eval_dataset"] = exp.datasets[cell.dataset].name;
    object["label_fraction"] = cell.label_fraction;
    object["shots"] = cell.shots;
    object["shift"] = evaluation.shifts[cell.shift].name;
    return object;
}

std::optional<RunRecord> latest(const Store* store, const std::string& hash) {
    return store ? store->latest_run(hash) : std::nullopt;
}

std::string status_text(const std::optional<RunRecord>& run) { return run ? to_string(run->status) : "todo"; }

Json document_head(const std::string& schema, const PreparedExperiment& prepared, const Store* store,
                   const std::string& store_path) {
    return {{"schema", schema},
            {"experiment", prepared.experiment.name},
            {"file", prepared.experiment.file},
            {"overrides", prepared.experiment.overrides},
            {"store", store_path},
            {"store_exists", store != nullptr}};
}

}  // namespace

std::string plugins_json(const std::vector<const LoadedPlugin*>& plugins, const std::vector<LoadFailure>& failures) {
    Json items = Json::array(), failed = Json::array();
    for (const LoadedPlugin* plugin : plugins) items.push_back(plugin_object(*plugin));
    for (const LoadFailure& f : failures) failed.push_back({{"path", f.path}, {"reason", f.reason}});
    return json_text({{"schema", "ecgbench.plugins/1"}, {"plugins", items}, {"failures", failed}});
}

std::string plan_json(const PreparedExperiment& prepared, const Selection& selection, const Store* store,
                      const std::string& store_path) {
    const Plan& plan = prepared.plan;
    std::map<std::string, int> counts;
    Json cells = Json::array();
    auto add = [&](Json object, const std::string& config, bool selected, const std::string& hash) {
        const std::string status = status_text(latest(store, hash));
        if (selected) ++counts[status];
        object["status"] = status;
        object["selected"] = selected;
        // The value the cell's hash is taken over; its canonical text is the store's cells.config.
        object["config"] = Json::parse(config);
        cells.push_back(std::move(object));
    };
    for (std::size_t p = 0; p < plan.pretrain.size(); ++p) {
        if (!selection.involved(plan, p)) continue;
        add(pretrain_fields(prepared, p), plan.pretrain[p].config, selection.pretrain[p], plan.pretrain[p].hash);
        for (std::size_t e = 0; e < plan.evaluations.size(); ++e)
            if (plan.evaluations[e].pretrain == p && selection.evaluations[e])
                add(eval_fields(prepared, e), plan.evaluations[e].config, true, plan.evaluations[e].hash);
    }
    Json document = document_head("ecgbench.plan/1", prepared, store, store_path);
    document["cells"] = std::move(cells);
    document["counts"] = counts_object(counts);
    document["total"] = {{"pretrain", plan.pretrain.size()}, {"eval", plan.evaluations.size()}};
    return json_text(document);
}

std::string status_json(const PreparedExperiment& prepared, const Selection& selection, const Store* store,
                        const std::string& store_path) {
    const Plan& plan = prepared.plan;
    std::map<std::string, int> counts;
    Json cells = Json::array();
    auto add = [&](Json object, const std::string& hash) {
        const auto run = latest(store, hash);
        ++counts[status_text(run)];
        object["status"] = status_text(run);
        auto or_null = [](const std::string& text) { return text.empty() ? Json() : Json(text); };
        object["run"] = !run ? Json() : Json{{"id", run->id},
                                             {"started_at", run->started_at},
                                             {"ended_at", or_null(run->ended_at)},
                                             {"host", run->host},
                                             {"pid", run->pid},
                                             {"error", or_null(run->error)}};
        cells.push_back(std::move(object));
    };
    for (std::size_t p = 0; p < plan.pretrain.size(); ++p) {
        if (selection.pretrain[p]) add(pretrain_fields(prepared, p), plan.pretrain[p].hash);
        for (std::size_t e = 0; e < plan.evaluations.size(); ++e)
            if (plan.evaluations[e].pretrain == p && selection.evaluations[e])
                add(eval_fields(prepared, e), plan.evaluations[e].hash);
    }
    Json document = document_head("ecgbench.status/1", prepared, store, store_path);
    document["cells"] = std::move(cells);
    document["counts"] = counts_object(counts);
    return json_text(document);
}

std::string report_json(const std::string& experiment, const std::string& store_path, const ReportTable& table,
                        const std::vector<FlatResult>& rows, const std::vector<std::string>& files) {
    Json columns = Json::array(), methods = Json::array(), results = Json::array();
    for (const ReportColumn& c : table.columns)
        columns.push_back(Json{{"task", c.task},
                               {"eval_dataset", c.eval_dataset},
                               {"label_fraction", c.label_fraction},
                               {"shots", c.shots},
                               {"shift", c.shift},
                               {"category", c.category},
                               {"noise", c.noise},
                               {"snr_db", json_optional(c.snr_db)},
                               {"leads", c.leads},
                               {"shift_leads", c.shift_leads}});
    for (const ReportRow& row : table.rows) {
        Json cells = Json::array();
        for (const ReportCell& cell : row.cells)
            cells.push_back(Json{{"column", cell.column},
                                 {"mean", cell.summary.mean},
                                 {"std", cell.summary.std},
                                 {"n", cell.summary.n},
                                 {"best", cell.best},
                                 {"second", cell.second},
                                 {"expected", cell.expected},
                                 {"failed", cell.failed},
                                 {"running", cell.running},
                                 {"ci_low", json_optional(cell.ci_low)},
                                 {"ci_high", json_optional(cell.ci_high)},
                                 {"delta", json_optional(cell.delta)},
                                 {"p_value", json_optional(cell.p_value)}});
        Json gaps = Json::array(), means = Json::array();
        for (const ReportGap& gap : row.gaps)
            gaps.push_back(Json{{"column", gap.column},
                                {"state", to_string(gap.state)},
                                {"expected", gap.expected},
                                {"error", gap.error}});
        for (const auto& m : row.category_means) means.push_back(json_optional(m));
        methods.push_back(Json{{"dataset", row.dataset},
                               {"encoder", row.encoder},
                               {"ssl", row.ssl},
                               {"uses_labels", row.uses_labels},
                               {"cells", cells},
                               {"gaps", gaps},
                               {"category_means", means},
                               {"average_rank", json_optional(row.average_rank)}});
    }
    for (const FlatResult& r : rows)
        results.push_back(Json{{"dataset", r.dataset},
                               {"encoder", r.encoder},
                               {"ssl", r.ssl},
                               {"task", r.task},
                               {"eval_dataset", r.eval_dataset},
                               {"protocol", r.protocol},
                               {"label_fraction", r.label_fraction},
                               {"shots", r.shots},
                               {"shift", r.shift},
                               {"seed", r.seed},
                               {"metric", r.metric},
                               {"split", r.split},
                               {"value", r.value},
                               {"ci_low", json_optional(r.ci_low)},
                               {"ci_high", json_optional(r.ci_high)},
                               {"higher_is_better", r.higher_is_better},
                               {"pretrain_uses_labels", r.pretrain_uses_labels},
                               {"cell_hash", r.cell_hash}});
    const Json rank_columns = table.rank_columns;
    const Json friedman = table.friedman ? Json{{"chi_square", table.friedman->chi_square},
                                                {"p_chi_square", table.friedman->p_chi_square},
                                                {"iman_davenport", json_optional(table.friedman->iman_davenport)},
                                                {"critical_difference", table.critical_difference},
                                                {"alpha", table.alpha}}
                                         : Json();
    return json_text({{"schema", "ecgbench.report/1"},
                      {"experiment", experiment},
                      {"store", store_path},
                      {"metric", table.metric},
                      {"split", table.split},
                      {"higher_is_better", table.higher_is_better},
                      {"ci", table.ci == CiMode::Bootstrap ? "bootstrap" : table.ci == CiMode::Stratified ? "stratified" : "std"},
                      {"baseline", table.baseline},
                      {"categories", table.categories},
                      {"rank_columns", rank_columns},
                      {"friedman", friedman},
                      {"notes", table.notes},
                      {"columns", columns},
                      {"rows", methods},
                      {"results", results},
                      {"files", files}});
}

}  // namespace ecgbench
