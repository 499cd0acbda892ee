#include "cli/json_output.hpp"

#include "util/json.hpp"

#include <cmath>
#include <map>
#include <optional>

namespace ecgbench {
namespace {

std::string json_bool(bool value) { return value ? "true" : "false"; }

std::string json_optional(const std::optional<double>& value) { return value ? json_number(*value) : "null"; }

std::string plugin_object(const LoadedPlugin& plugin) {
    const PluginManifest& m = plugin.manifest();
    std::vector<std::string> params;
    for (const ParamSpec& p : m.params)
        params.push_back(json_object({{"name", json_string(p.name)},
                                      {"type", json_string(to_string(p.type))},
                                      {"default", json_param_value(p.default_value)},
                                      {"doc", json_string(p.doc)},
                                      {"min", json_optional(p.min)},
                                      {"max", json_optional(p.max)},
                                      {"choices", json_strings(p.choices)}}));
    return json_object({{"name", json_string(m.name)},
                        {"kind", json_string(to_string(m.kind))},
                        {"version", json_string(m.version)},
                        {"summary", json_string(m.summary)},
                        {"path", json_string(plugin.path)},
                        {"params", json_array(params)},
                        {"needs", json_strings(m.needs)},
                        {"provides", json_strings(m.provides)}});
}

std::string counts_object(const std::map<std::string, int>& counts) {
    JsonObject object;
    for (const auto& [status, n] : counts) object[status] = json_number(static_cast<std::int64_t>(n));
    return json_object(object);
}

/// The fields a cell has in plan and status documents; `status` is its latest run's state or "todo".
JsonObject pretrain_fields(const PreparedExperiment& prepared, std::size_t p) {
    const auto& exp = prepared.experiment;
    const PretrainCell& cell = prepared.plan.pretrain[p];
    return {{"hash", json_string(cell.hash)},
            {"kind", json_string("pretrain")},
            {"label", json_string(pretrain_label(exp, cell))},
            {"dataset", json_string(exp.datasets[cell.dataset].name)},
            {"encoder", json_string(exp.encoders[cell.encoder].name)},
            {"ssl", json_string(exp.ssl_methods[cell.ssl].name)},
            {"seed", json_number(cell.seed)}};
}

JsonObject eval_fields(const PreparedExperiment& prepared, std::size_t e) {
    const auto& exp = prepared.experiment;
    const EvalCell& cell = prepared.plan.evaluations[e];
    JsonObject object = pretrain_fields(prepared, cell.pretrain);
    const auto& evaluation = exp.evaluations[cell.evaluation];
    object["hash"] = json_string(cell.hash);
    object["kind"] = json_string("eval");
    object["label"] = json_string(eval_label(exp, prepared.plan, cell));
    object["pretrain_hash"] = json_string(cell.pretrain_hash);
    object["evaluation"] = json_string(evaluation.name);
    object["task"] = json_string(evaluation.task.plugin);
    object["eval_dataset"] = json_string(exp.datasets[cell.dataset].name);
    object["label_fraction"] = json_number(cell.label_fraction);
    object["shift"] = json_string(evaluation.shifts[cell.shift].name);
    return object;
}

std::optional<RunRecord> latest(const Store* store, const std::string& hash) {
    return store ? store->latest_run(hash) : std::nullopt;
}

std::string status_text(const std::optional<RunRecord>& run) { return run ? to_string(run->status) : "todo"; }

JsonObject document_head(const std::string& schema, const PreparedExperiment& prepared, const Store* store,
                         const std::string& store_path) {
    return {{"schema", json_string(schema)},
            {"experiment", json_string(prepared.experiment.name)},
            {"file", json_string(prepared.experiment.file)},
            {"overrides", json_strings(prepared.experiment.overrides)},
            {"store", json_string(store_path)},
            {"store_exists", json_bool(store != nullptr)}};
}

}  // namespace

std::string plugins_json(const std::vector<const LoadedPlugin*>& plugins, const std::vector<LoadFailure>& failures) {
    std::vector<std::string> items, failed;
    for (const LoadedPlugin* plugin : plugins) items.push_back(plugin_object(*plugin));
    for (const LoadFailure& f : failures)
        failed.push_back(json_object({{"path", json_string(f.path)}, {"reason", json_string(f.reason)}}));
    return json_object({{"schema", json_string("ecgbench.plugins/1")},
                        {"plugins", json_array(items)},
                        {"failures", json_array(failed)}});
}

std::string plan_json(const PreparedExperiment& prepared, const Selection& selection, const Store* store,
                      const std::string& store_path) {
    const Plan& plan = prepared.plan;
    std::map<std::string, int> counts;
    std::vector<std::string> cells;
    auto add = [&](JsonObject object, const std::string& config, bool selected, const std::string& hash) {
        const std::string status = status_text(latest(store, hash));
        if (selected) ++counts[status];
        object["status"] = json_string(status);
        object["selected"] = json_bool(selected);
        object["config"] = config;  // canonical JSON already
        cells.push_back(json_object(object));
    };
    for (std::size_t p = 0; p < plan.pretrain.size(); ++p) {
        if (!selection.involved(plan, p)) continue;
        add(pretrain_fields(prepared, p), plan.pretrain[p].config, selection.pretrain[p], plan.pretrain[p].hash);
        for (std::size_t e = 0; e < plan.evaluations.size(); ++e)
            if (plan.evaluations[e].pretrain == p && selection.evaluations[e])
                add(eval_fields(prepared, e), plan.evaluations[e].config, true, plan.evaluations[e].hash);
    }
    JsonObject document = document_head("ecgbench.plan/1", prepared, store, store_path);
    document["cells"] = json_array(cells);
    document["counts"] = counts_object(counts);
    document["total"] = json_object({{"pretrain", json_number(static_cast<std::int64_t>(plan.pretrain.size()))},
                                     {"eval", json_number(static_cast<std::int64_t>(plan.evaluations.size()))}});
    return json_object(document);
}

std::string status_json(const PreparedExperiment& prepared, const Selection& selection, const Store* store,
                        const std::string& store_path) {
    const Plan& plan = prepared.plan;
    std::map<std::string, int> counts;
    std::vector<std::string> cells;
    auto add = [&](JsonObject object, const std::string& hash) {
        const auto run = latest(store, hash);
        ++counts[status_text(run)];
        object["status"] = json_string(status_text(run));
        object["run"] = !run ? "null"
                             : json_object({{"id", json_number(run->id)},
                                            {"started_at", json_string(run->started_at)},
                                            {"ended_at", run->ended_at.empty() ? "null" : json_string(run->ended_at)},
                                            {"host", json_string(run->host)},
                                            {"pid", json_number(run->pid)},
                                            {"error", run->error.empty() ? "null" : json_string(run->error)}});
        cells.push_back(json_object(object));
    };
    for (std::size_t p = 0; p < plan.pretrain.size(); ++p) {
        if (selection.pretrain[p]) add(pretrain_fields(prepared, p), plan.pretrain[p].hash);
        for (std::size_t e = 0; e < plan.evaluations.size(); ++e)
            if (plan.evaluations[e].pretrain == p && selection.evaluations[e])
                add(eval_fields(prepared, e), plan.evaluations[e].hash);
    }
    JsonObject document = document_head("ecgbench.status/1", prepared, store, store_path);
    document["cells"] = json_array(cells);
    document["counts"] = counts_object(counts);
    return json_object(document);
}

std::string report_json(const std::string& experiment, const std::string& store_path, const ReportTable& table,
                        const std::vector<FlatResult>& rows, const std::vector<std::string>& files) {
    std::vector<std::string> columns, methods, results;
    for (const ReportColumn& c : table.columns)
        columns.push_back(json_object({{"task", json_string(c.task)},
                                       {"eval_dataset", json_string(c.eval_dataset)},
                                       {"label_fraction", json_number(c.label_fraction)},
                                       {"shift", json_string(c.shift)},
                                       {"category", json_string(c.category)},
                                       {"noise", json_string(c.noise)},
                                       {"snr_db", json_optional(c.snr_db)},
                                       {"leads", json_number(c.leads)},
                                       {"shift_leads", json_number(c.shift_leads)}}));
    for (const ReportRow& row : table.rows) {
        std::vector<std::string> cells;
        for (const ReportCell& cell : row.cells)
            cells.push_back(json_object({{"column", json_number(static_cast<std::int64_t>(cell.column))},
                                         {"mean", json_number(cell.summary.mean)},
                                         {"std", json_number(cell.summary.std)},
                                         {"n", json_number(static_cast<std::int64_t>(cell.summary.n))},
                                         {"best", json_bool(cell.best)},
                                         {"second", json_bool(cell.second)},
                                         {"expected", json_number(static_cast<std::int64_t>(cell.expected))},
                                         {"failed", json_number(static_cast<std::int64_t>(cell.failed))},
                                         {"running", json_number(static_cast<std::int64_t>(cell.running))},
                                         {"ci_low", json_optional(cell.ci_low)},
                                         {"ci_high", json_optional(cell.ci_high)},
                                         {"delta", json_optional(cell.delta)},
                                         {"p_value", json_optional(cell.p_value)}}));
        std::vector<std::string> gaps, means;
        for (const ReportGap& gap : row.gaps)
            gaps.push_back(json_object({{"column", json_number(static_cast<std::int64_t>(gap.column))},
                                        {"state", json_string(to_string(gap.state))},
                                        {"expected", json_number(static_cast<std::int64_t>(gap.expected))},
                                        {"error", json_string(gap.error)}}));
        for (const auto& m : row.category_means) means.push_back(json_optional(m));
        methods.push_back(json_object({{"dataset", json_string(row.dataset)},
                                       {"encoder", json_string(row.encoder)},
                                       {"ssl", json_string(row.ssl)},
                                       {"uses_labels", json_bool(row.uses_labels)},
                                       {"cells", json_array(cells)},
                                       {"gaps", json_array(gaps)},
                                       {"category_means", json_array(means)},
                                       {"average_rank", json_optional(row.average_rank)}}));
    }
    for (const FlatResult& r : rows)
        results.push_back(json_object({{"dataset", json_string(r.dataset)},
                                       {"encoder", json_string(r.encoder)},
                                       {"ssl", json_string(r.ssl)},
                                       {"task", json_string(r.task)},
                                       {"eval_dataset", json_string(r.eval_dataset)},
                                       {"protocol", json_string(r.protocol)},
                                       {"label_fraction", json_number(r.label_fraction)},
                                       {"shift", json_string(r.shift)},
                                       {"seed", json_number(r.seed)},
                                       {"metric", json_string(r.metric)},
                                       {"split", json_string(r.split)},
                                       {"value", json_number(r.value)},
                                       {"ci_low", json_optional(r.ci_low)},
                                       {"ci_high", json_optional(r.ci_high)},
                                       {"higher_is_better", json_bool(r.higher_is_better)},
                                       {"pretrain_uses_labels", json_bool(r.pretrain_uses_labels)},
                                       {"cell_hash", json_string(r.cell_hash)}}));
    std::vector<std::string> rank_columns;
    for (std::size_t c : table.rank_columns) rank_columns.push_back(json_number(static_cast<std::int64_t>(c)));
    const std::string friedman =
        table.friedman ? json_object({{"chi_square", json_number(table.friedman->chi_square)},
                                      {"p_chi_square", json_number(table.friedman->p_chi_square)},
                                      {"iman_davenport", std::isfinite(table.friedman->iman_davenport) ? json_number(table.friedman->iman_davenport) : "null"},
                                      {"critical_difference", json_number(table.critical_difference)},
                                      {"alpha", json_number(table.alpha)}})
                       : "null";
    return json_object({{"schema", json_string("ecgbench.report/1")},
                        {"experiment", json_string(experiment)},
                        {"store", json_string(store_path)},
                        {"metric", json_string(table.metric)},
                        {"split", json_string(table.split)},
                        {"higher_is_better", json_bool(table.higher_is_better)},
                        {"ci", json_string(table.ci == CiMode::Bootstrap ? "bootstrap" : "std")},
                        {"baseline", json_string(table.baseline)},
                        {"categories", json_strings(table.categories)},
                        {"rank_columns", json_array(rank_columns)},
                        {"friedman", friedman},
                        {"notes", json_strings(table.notes)},
                        {"columns", json_array(columns)},
                        {"rows", json_array(methods)},
                        {"results", json_array(results)},
                        {"files", json_strings(files)}});
}

}  // namespace ecgbench
