#include "report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace ecgbench {

Summary summarize(const std::vector<double>& values) {
    Summary s;
    s.n = values.size();
    if (values.empty()) return s;
    for (double v : values) s.mean += v;
    s.mean /= static_cast<double>(s.n);
    if (s.n > 1) {
        double ss = 0;
        for (double v : values) ss += (v - s.mean) * (v - s.mean);
        s.std = std::sqrt(ss / static_cast<double>(s.n - 1));
    }
    return s;
}

namespace {

std::string fixed(double value, int digits) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

std::string fraction_label(double fraction) {
    std::ostringstream out;
    out << fraction * 100 << "%";
    return out.str();
}

using MethodKey = std::tuple<std::string, std::string, std::string>;  // dataset, encoder, ssl
// task, eval dataset, fraction, (shift declaration order, shift name)
using ColumnKey = std::tuple<std::string, std::string, double, std::int64_t, std::string>;

// Columns grouped by task and dataset, full labels first, then decreasing label fraction, then
// shift conditions in the order they were declared.
struct ColumnOrder {
    bool operator()(const ColumnKey& a, const ColumnKey& b) const {
        return std::make_tuple(std::get<0>(a), std::get<1>(a), -std::get<2>(a), std::get<3>(a), std::get<4>(a)) <
               std::make_tuple(std::get<0>(b), std::get<1>(b), -std::get<2>(b), std::get<3>(b), std::get<4>(b));
    }
};

bool metric_higher_is_better(const std::vector<FlatResult>& rows, const std::string& metric) {
    for (const auto& r : rows)
        if (r.metric == metric) return r.higher_is_better;
    return true;
}

}  // namespace

ReportTable report_table(const std::vector<FlatResult>& rows, const ReportOptions& options) {
    std::map<MethodKey, std::map<ColumnKey, std::vector<double>, ColumnOrder>> values;
    std::set<ColumnKey, ColumnOrder> columns;
    std::set<MethodKey> labelled;  // pretrainings that read labels: marked, they are not self-supervised
    ReportTable table{options.metric, options.split, true, {}, {}};
    for (const auto& r : rows) {
        if (r.metric != options.metric || r.split != options.split) continue;
        ColumnKey column{r.task, r.eval_dataset, r.label_fraction, r.shift.empty() ? 0 : r.shift_order, r.shift};
        columns.insert(column);
        values[{r.dataset, r.encoder, r.ssl}][column].push_back(r.value);
        if (r.pretrain_uses_labels) labelled.insert({r.dataset, r.encoder, r.ssl});
        table.higher_is_better = r.higher_is_better;
    }
    std::map<ColumnKey, double, ColumnOrder> best;
    for (const auto& [method, by_column] : values)
        for (const auto& [column, v] : by_column) {
            const double mean = summarize(v).mean;
            auto it = best.find(column);
            if (it == best.end() || (table.higher_is_better ? mean > it->second : mean < it->second)) best[column] = mean;
        }
    std::map<ColumnKey, std::size_t, ColumnOrder> index;
    for (const auto& column : columns) {
        index[column] = table.columns.size();
        table.columns.push_back({std::get<0>(column), std::get<1>(column), std::get<2>(column), std::get<4>(column)});
    }
    for (const auto& [method, by_column] : values) {
        ReportRow row{std::get<0>(method), std::get<1>(method), std::get<2>(method), labelled.count(method) > 0, {}};
        for (const auto& [column, v] : by_column) {
            const Summary s = summarize(v);
            row.cells.push_back({index[column], s, values.size() > 1 && std::abs(s.mean - best[column]) < 1e-12});
        }
        table.rows.push_back(std::move(row));
    }
    return table;
}

std::string markdown_table(const std::vector<FlatResult>& rows, const ReportOptions& options) {
    const ReportTable table = report_table(rows, options);
    if (table.rows.empty()) return "_No `" + options.metric + "` results on the " + options.split + " split._\n";

    std::ostringstream out;
    out << "| pretrained on | encoder | SSL |";
    for (const auto& c : table.columns)
        out << " " << c.task << " → " << c.eval_dataset
            << (c.label_fraction < 1.0 ? " (" + fraction_label(c.label_fraction) + " labels)" : "")
            << (c.shift.empty() ? "" : " [" + c.shift + "]") << " |";
    out << "\n|---|---|---|";
    for (std::size_t i = 0; i < table.columns.size(); ++i) out << "---|";
    out << "\n";
    bool any_labelled = false;
    for (const auto& row : table.rows) {
        any_labelled |= row.uses_labels;
        out << "| " << row.dataset << " | " << row.encoder << " | " << row.ssl << (row.uses_labels ? " †" : "") << " |";
        std::vector<const ReportCell*> by_column(table.columns.size(), nullptr);
        for (const auto& cell : row.cells) by_column[cell.column] = &cell;
        for (const ReportCell* cell : by_column) {
            if (!cell) {
                out << " — |";
                continue;
            }
            const auto& s = cell->summary;
            std::string text = fixed(s.mean, 3) + (s.n > 1 ? " ± " + fixed(s.std, 3) : "") + " (n=" + std::to_string(s.n) + ")";
            if (cell->best) text = "**" + text + "**";
            out << " " << text << " |";
        }
        out << "\n";
    }
    if (any_labelled) out << "\n† pretrained with labels (not self-supervised).\n";
    return out.str();
}

std::string results_csv(const std::vector<FlatResult>& rows) {
    auto quote = [](const std::string& s) {
        if (s.find_first_of(",\"\n") == std::string::npos) return s;
        std::string out = "\"";
        for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
    };
    auto number = [](double v) {
        std::ostringstream o;
        o.precision(10);
        o << v;
        return o.str();
    };
    std::ostringstream out;
    out << "experiment,dataset,encoder,ssl,task,eval_dataset,protocol,shift,label_fraction,seed,metric,split,value,ci_low,ci_high,"
           "cell_hash\n";
    for (const auto& r : rows) {
        out << quote(r.experiment) << ',' << quote(r.dataset) << ',' << quote(r.encoder) << ',' << quote(r.ssl) << ','
            << quote(r.task) << ',' << quote(r.eval_dataset) << ',' << quote(r.protocol) << ',' << quote(r.shift) << ','
            << number(r.label_fraction)
            << ',' << r.seed << ',' << quote(r.metric) << ',' << quote(r.split) << ',' << number(r.value) << ','
            << (r.ci_low ? number(*r.ci_low) : "") << ',' << (r.ci_high ? number(*r.ci_high) : "") << ',' << r.cell_hash
            << '\n';
    }
    return out.str();
}

std::vector<std::string> write_report(const Store& store, const std::string& experiment, const std::string& out_dir,
                                      const ReportOptions& options) {
    const auto rows = store.results(experiment);
    if (rows.empty()) {
        std::string known;
        for (const auto& name : store.experiments()) known += (known.empty() ? "" : ", ") + name;
        throw std::runtime_error("no finished results for experiment '" + experiment + "' in " + store.path() +
                                 (known.empty() ? std::string(" (the store is empty)") : " (stored experiments: " + known + ")"));
    }
    std::filesystem::create_directories(out_dir);
    std::set<std::int64_t> seeds;
    std::set<std::string> cells;
    for (const auto& r : rows) {
        seeds.insert(r.seed);
        cells.insert(r.cell_hash);
    }
    std::time_t now = std::time(nullptr);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));

    std::ostringstream md;
    md << "# " << experiment << "\n\n"
       << "Generated " << date << " from `" << store.path() << "` (" << cells.size() << " evaluation cells, "
       << seeds.size() << " seeds). Values: " << options.metric << " on the " << options.split
       << " split, mean ± sample std over seeds (n = number of seeds); best per column in bold ("
       << (metric_higher_is_better(rows, options.metric) ? "higher" : "lower") << " is better).\n\n"
       << markdown_table(rows, options) << "\n"
       << "All metrics (per seed, with bootstrap CIs where computed) are in `results.csv`; provenance of each "
          "row (dataset fingerprint, leads, checkpoint sha256, plugin versions, git commit) is in the store's "
          "`provenance` view.\n";
    const auto md_path = (std::filesystem::path(out_dir) / "report.md").string();
    const auto csv_path = (std::filesystem::path(out_dir) / "results.csv").string();
    std::ofstream(md_path) << md.str();
    std::ofstream(csv_path) << results_csv(rows);
    return {md_path, csv_path};
}

}  // namespace ecgbench
