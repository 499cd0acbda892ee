#include "report/report.hpp"

#include "report/render.hpp"
#include "report/scored_outputs.hpp"

#include "ecgbench/metrics.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

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

const char* to_string(GapState state) {
    switch (state) {
        case GapState::NotRun: return "not run";
        case GapState::Running: return "running";
        case GapState::Failed: return "failed";
        case GapState::PretrainFailed: return "pretraining failed";
    }
    return "?";
}

const ReportCell* ReportRow::cell(std::size_t column) const {
    for (const auto& c : cells)
        if (c.column == column) return &c;
    return nullptr;
}

namespace {

using MethodKey = std::tuple<std::string, std::string, std::string>;  // dataset, encoder, ssl
// task, eval dataset, fraction, k-shot count, (shift declaration order, shift name)
using ColumnKey = std::tuple<std::string, std::string, double, std::int64_t, std::int64_t, std::string>;

// Columns grouped by task and dataset, full labels first, then decreasing label fraction, then
// k-shot budgets by increasing k, then shift conditions in the order they were declared.
struct ColumnOrder {
    static auto order(const ColumnKey& k) {
        return std::make_tuple(std::get<0>(k), std::get<1>(k), std::get<3>(k) > 0, -std::get<2>(k), std::get<3>(k), std::get<4>(k),
                               std::get<5>(k));
    }
    bool operator()(const ColumnKey& a, const ColumnKey& b) const { return order(a) < order(b); }
};

ColumnKey column_key(const std::string& task, const std::string& eval_dataset, double fraction, std::int64_t shots,
                     const std::string& shift, std::int64_t shift_order) {
    return {task, eval_dataset, fraction, shots, shift.empty() ? 0 : shift_order, shift};
}

// What is known about one method in one column: its finished runs and the cells still open.
struct Slot {
    struct Finished {
        std::int64_t seed, run_id;
        double value;
    };
    std::map<std::string, Finished> finished;  // by cell hash
    std::set<std::string> expected;            // cell hashes the experiment declares
    std::size_t failed = 0, running = 0, pretrain_failed = 0;
    std::string error;
};

bool better(double a, double b, bool higher_is_better) { return higher_is_better ? a > b : a < b; }

void mark_best_and_second(ReportTable& table) {
    for (std::size_t column = 0; column < table.columns.size(); ++column) {
        std::vector<double> means;
        for (const auto& row : table.rows)
            if (const ReportCell* c = row.cell(column)) means.push_back(c->summary.mean);
        std::sort(means.begin(), means.end(), [&](double a, double b) { return better(a, b, table.higher_is_better); });
        means.erase(std::unique(means.begin(), means.end(), [](double a, double b) { return std::abs(a - b) < 1e-12; }), means.end());
        if (table.rows.size() < 2 || means.empty()) continue;
        for (auto& row : table.rows)
            for (auto& cell : row.cells) {
                if (cell.column != column) continue;
                cell.best = std::abs(cell.summary.mean - means[0]) < 1e-12;
                // Underlining the last of two methods says nothing: second needs three values.
                std::size_t values = 0;
                for (const auto& r : table.rows) values += r.cell(column) != nullptr;
                cell.second = values >= 3 && means.size() > 1 && std::abs(cell.summary.mean - means[1]) < 1e-12;
            }
    }
}

void add_category_means(ReportTable& table) {
    for (const auto& column : table.columns)
        if (std::find(table.categories.begin(), table.categories.end(), column.category) == table.categories.end())
            table.categories.push_back(column.category);
    for (auto& row : table.rows) {
        for (const auto& category : table.categories) {
            double sum = 0;
            std::size_t count = 0;
            bool complete = true;
            for (std::size_t c = 0; c < table.columns.size(); ++c) {
                if (table.columns[c].category != category) continue;
                const ReportCell* cell = row.cell(c);
                if (!cell) complete = false;
                else {
                    sum += cell->summary.mean;
                    ++count;
                }
            }
            row.category_means.push_back(complete && count > 0 ? std::optional<double>(sum / static_cast<double>(count)) : std::nullopt);
        }
    }
}

// Ranks over the columns every method with any value has (Demšar's test needs complete blocks); a
// method with nothing finished yet is left out rather than emptying the ranking.
void add_ranks(ReportTable& table, double alpha) {
    std::vector<ReportRow*> ranked;
    for (auto& row : table.rows)
        if (!row.cells.empty()) ranked.push_back(&row);
    if (ranked.size() < 2) return;
    std::vector<std::vector<double>> blocks;
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
        std::vector<double> block;
        for (const ReportRow* row : ranked)
            if (const ReportCell* cell = row->cell(c)) block.push_back(cell->summary.mean);
        if (block.size() != ranked.size()) continue;
        table.rank_columns.push_back(c);
        blocks.push_back(std::move(block));
    }
    if (blocks.empty()) return;
    const auto average = average_ranks(blocks, table.higher_is_better);
    for (std::size_t r = 0; r < ranked.size(); ++r) ranked[r]->average_rank = average[r];
    if (blocks.size() < 2) {
        table.notes.push_back("Friedman test not computed: it needs at least two columns every method has a value in.");
        return;
    }
    table.friedman = friedman_test(average, blocks.size());
    table.critical_difference = nemenyi_critical_difference(ranked.size(), blocks.size(), alpha);
}

// The baseline row for `row`: same pretraining data and encoder, else the only baseline row.
const ReportRow* baseline_for(const ReportTable& table, const ReportRow& row) {
    const ReportRow* only = nullptr;
    std::size_t count = 0;
    for (const auto& candidate : table.rows) {
        if (candidate.ssl != table.baseline) continue;
        if (candidate.dataset == row.dataset && candidate.encoder == row.encoder) return &candidate;
        only = &candidate;
        ++count;
    }
    return count == 1 ? only : nullptr;
}

void add_deltas(ReportTable& table) {
    if (table.baseline.empty()) return;
    bool found = false;
    std::string names;
    for (const auto& row : table.rows) {
        found |= row.ssl == table.baseline;
        if (names.find("'" + row.ssl + "'") == std::string::npos) names += (names.empty() ? "'" : ", '") + row.ssl + "'";
    }
    if (!found)
        throw std::invalid_argument("--baseline '" + table.baseline + "' is not an SSL method of this report (methods: " + names + ")");
    for (auto& row : table.rows) {
        const ReportRow* base = baseline_for(table, row);
        if (!base || base == &row) continue;
        for (auto& cell : row.cells)
            if (const ReportCell* b = base->cell(cell.column)) cell.delta = cell.summary.mean - b->summary.mean;
    }
}

}  // namespace

ReportTable report_table(const std::vector<FlatResult>& rows, const ReportOptions& options,
                         const std::vector<ExperimentEvalCell>& cells) {
    std::map<MethodKey, std::map<ColumnKey, Slot, ColumnOrder>> slots;
    std::map<ColumnKey, ReportColumn, ColumnOrder> columns;
    std::set<MethodKey> labelled;  // pretrainings that read labels: marked, they are not self-supervised
    ReportTable table;
    table.metric = options.metric;
    table.split = options.split;
    table.ci = options.ci;
    table.baseline = options.baseline;
    table.alpha = options.alpha;
    std::set<std::string> has_metric;  // cells with a value of the headline metric
    for (const auto& r : rows) {
        if (r.metric != options.metric || r.split != options.split) continue;
        const ColumnKey key = column_key(r.task, r.eval_dataset, r.label_fraction, r.shots, r.shift, r.shift_order);
        columns.emplace(key, ReportColumn{r.task, r.eval_dataset, r.label_fraction, r.shift, r.task + " → " + r.eval_dataset,
                                          "", std::nullopt, 0, 0, false, r.shots});
        Slot& slot = slots[{r.dataset, r.encoder, r.ssl}][key];
        slot.finished[r.cell_hash] = {r.seed, r.run_id, r.value};
        slot.expected.insert(r.cell_hash);
        has_metric.insert(r.cell_hash);
        if (r.pretrain_uses_labels) labelled.insert({r.dataset, r.encoder, r.ssl});
        table.higher_is_better = r.higher_is_better;
    }
    for (const auto& e : cells) {
        const CellRecord& c = e.cell;
        // A finished cell without the headline metric measures something else (another task's metric).
        if (e.status == RunStatus::Finished && !has_metric.count(c.hash)) continue;
        const ColumnKey key = column_key(c.task, c.eval_dataset, c.label_fraction, c.shots, c.shift, e.shift_order);
        ReportColumn& column = columns.emplace(key, ReportColumn{c.task, c.eval_dataset, c.label_fraction, c.shift,
                                                                 c.task + " → " + c.eval_dataset, "", std::nullopt, 0, 0, false, c.shots})
                                   .first->second;
        column.noise = e.shift_noise;
        column.snr_db = e.shift_snr_db;
        column.leads = e.shift_leads > 0 ? e.shift_leads : e.leads;
        column.shift_leads = e.shift_leads;
        column.shift_band = e.shift_band;
        Slot& slot = slots[{c.dataset, c.encoder, c.ssl}][key];
        slot.expected.insert(c.hash);
        if (slot.finished.count(c.hash)) continue;
        const bool failed = e.status == RunStatus::Failed || e.status == RunStatus::Killed;
        if (e.status == RunStatus::Running) ++slot.running;
        else if (failed) ++slot.failed;
        else if (!e.status && (e.pretrain_status == RunStatus::Failed || e.pretrain_status == RunStatus::Killed)) ++slot.pretrain_failed;
        if (failed && slot.error.empty()) slot.error = e.error;
    }

    std::map<ColumnKey, std::size_t, ColumnOrder> index;
    for (const auto& [key, column] : columns) {
        index[key] = table.columns.size();
        table.columns.push_back(column);
    }
    for (const auto& [method, by_column] : slots) {
        ReportRow row;
        std::tie(row.dataset, row.encoder, row.ssl) = method;
        row.uses_labels = labelled.count(method) > 0;
        for (const auto& [key, slot] : by_column) {
            if (slot.finished.empty()) {
                GapState state = slot.failed ? GapState::Failed
                                 : slot.running ? GapState::Running
                                 : slot.pretrain_failed ? GapState::PretrainFailed
                                                        : GapState::NotRun;
                row.gaps.push_back({index[key], state, slot.expected.size(), slot.error});
                continue;
            }
            std::vector<std::pair<std::int64_t, const Slot::Finished*>> by_seed;
            for (const auto& [hash, f] : slot.finished) by_seed.emplace_back(f.seed, &f);
            std::sort(by_seed.begin(), by_seed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            ReportCell cell;
            cell.column = index[key];
            std::vector<double> values;
            for (const auto& [seed, f] : by_seed) {
                values.push_back(f->value);
                cell.seeds.push_back(seed);
                cell.run_ids.push_back(f->run_id);
            }
            cell.summary = summarize(values);
            cell.expected = slot.expected.size();
            cell.failed = slot.failed;
            cell.running = slot.running;
            row.cells.push_back(std::move(cell));
        }
        std::sort(row.cells.begin(), row.cells.end(), [](const auto& a, const auto& b) { return a.column < b.column; });
        std::sort(row.gaps.begin(), row.gaps.end(), [](const auto& a, const auto& b) { return a.column < b.column; });
        table.rows.push_back(std::move(row));
    }
    mark_best_and_second(table);
    add_category_means(table);
    add_ranks(table, options.alpha);
    add_deltas(table);
    return table;
}

namespace {

// The stratified per-label bootstrap of the seed mean of macro AUROC: the runs (aligned to one record
// order) share each class's resamples.
Interval stratified_interval(const std::vector<ScoredRecords>& runs, const ReportOptions& options) {
    std::vector<std::vector<double>> scores;
    for (const auto& run : runs) scores.push_back(run.scores);
    return stratified_per_label_interval(scores, runs.front().labels, runs.front().classes,
                                         [](const std::vector<double>& s, const std::vector<int>& l) { return auroc(s, l); },
                                         {options.resamples, options.seed}, options.level);
}

}  // namespace

void add_resampled_statistics(ReportTable& table, const Store& store, const ReportOptions& options) {
    if (options.ci == CiMode::Std && options.baseline.empty()) return;
    if (options.metric != "macro_auroc") {
        table.notes.push_back("Bootstrap intervals and paired tests are computed from stored logits and labels for macro_auroc only; "
                              "not for " + options.metric + ".");
        return;
    }
    std::map<std::int64_t, std::optional<ScoredRecords>> loaded;
    auto scored = [&](std::int64_t run_id) -> const std::optional<ScoredRecords>& {
        auto it = loaded.find(run_id);
        if (it == loaded.end()) it = loaded.emplace(run_id, load_scored_records(store, run_id, options.split)).first;
        return it->second;
    };
    // The runs of `cell` aligned to `order` (the first run's when empty); empty when any run kept no
    // outputs or scored other records.
    auto runs_of = [&](const ReportCell& cell, const std::vector<std::int64_t>& seeds, std::vector<std::string> order) {
        std::vector<ScoredRecords> runs;
        for (std::size_t i = 0; i < cell.run_ids.size(); ++i) {
            if (std::find(seeds.begin(), seeds.end(), cell.seeds[i]) == seeds.end()) continue;
            const auto& s = scored(cell.run_ids[i]);
            if (!s) return std::vector<ScoredRecords>{};
            if (order.empty()) order = s->record_ids;
            auto aligned = aligned_to(*s, order);
            if (!aligned) return std::vector<ScoredRecords>{};
            runs.push_back(std::move(*aligned));
        }
        return runs;
    };
    std::size_t without_outputs = 0;
    for (auto& row : table.rows) {
        const ReportRow* base = table.baseline.empty() ? nullptr : baseline_for(table, row);
        for (auto& cell : row.cells) {
            if (options.ci != CiMode::Std) {
                const auto runs = runs_of(cell, cell.seeds, {});
                if (runs.empty()) {
                    ++without_outputs;
                } else {
                    const Interval interval = options.ci == CiMode::Stratified ? stratified_interval(runs, options)
                                                                               : percentile_interval(mean_macro_auroc(runs),
                                                                                                     Resamples(runs.front().record_ids.size(),
                                                                                                               {options.resamples, options.seed}),
                                                                                                     options.level);
                    cell.ci_low = interval.low;
                    cell.ci_high = interval.high;
                }
            }
            const ReportCell* b = base && base != &row ? base->cell(cell.column) : nullptr;
            if (!b) continue;
            std::vector<std::int64_t> common;
            for (std::int64_t s : cell.seeds)
                if (std::find(b->seeds.begin(), b->seeds.end(), s) != b->seeds.end()) common.push_back(s);
            if (common.empty()) continue;
            const auto runs_b = runs_of(*b, common, {});
            const auto runs_a = runs_b.empty() ? std::vector<ScoredRecords>{} : runs_of(cell, common, runs_b.front().record_ids);
            if (runs_a.empty()) {
                ++without_outputs;
                continue;
            }
            const Resamples resamples(runs_b.front().record_ids.size(), {options.resamples, options.seed});
            cell.p_value = paired_bootstrap(mean_macro_auroc(runs_a), mean_macro_auroc(runs_b), resamples, options.level).p_bootstrap;
        }
    }
    if (without_outputs > 0)
        table.notes.push_back(std::to_string(without_outputs) + " cell(s) without stored " + options.split +
                              " logits and labels on shared records: no bootstrap interval or paired test there.");
}

namespace {

// PNG figures come from the SVG ones through rsvg-convert (librsvg, Debian's librsvg2-bin) at twice
// the SVG's size: ecgbench ships no rasteriser of its own (docs/reports.md says why).
void rasterise_svg(const std::string& svg, const std::string& png) {
    const std::string tool = "rsvg-convert";
    std::vector<std::string> args{tool, "--zoom", "2", "--background-color", "white", "--output", png, svg};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawnp(&pid, tool.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
        throw std::runtime_error("--format png needs rsvg-convert, which is not installed (Debian package librsvg2-bin: "
                                 "tools/install-deps.sh --reports)");
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("rsvg-convert failed to rasterise " + svg);
}

}  // namespace

ReportTable build_report(const Store& store, const std::string& experiment, const ReportOptions& options) {
    const auto known = store.experiments();
    if (std::find(known.begin(), known.end(), experiment) == known.end()) {
        std::string names;
        for (const auto& name : known) names += (names.empty() ? "" : ", ") + name;
        throw std::runtime_error("no experiment '" + experiment + "' in " + store.path() +
                                 (names.empty() ? std::string(" (the store is empty)") : " (stored experiments: " + names + ")"));
    }
    ReportTable table = report_table(store.results(experiment), options, store.experiment_eval_cells(experiment));
    add_resampled_statistics(table, store, options);
    return table;
}

std::string results_csv(const std::vector<FlatResult>& rows) {
    std::ostringstream out;
    out << "experiment,dataset,encoder,ssl,task,eval_dataset,protocol,shift,label_fraction,shots,seed,metric,split,value,ci_low,ci_high,"
           "cell_hash\n";
    for (const auto& r : rows) {
        out << csv_field(r.experiment) << ',' << csv_field(r.dataset) << ',' << csv_field(r.encoder) << ',' << csv_field(r.ssl) << ','
            << csv_field(r.task) << ',' << csv_field(r.eval_dataset) << ',' << csv_field(r.protocol) << ',' << csv_field(r.shift) << ','
            << csv_number(r.label_fraction) << ',' << r.shots << ',' << r.seed << ',' << csv_field(r.metric) << ',' << csv_field(r.split) << ','
            << csv_number(r.value) << ',' << (r.ci_low ? csv_number(*r.ci_low) : "") << ','
            << (r.ci_high ? csv_number(*r.ci_high) : "") << ',' << r.cell_hash << '\n';
    }
    return out.str();
}

std::vector<std::string> write_report(const Store& store, const std::string& experiment, const std::string& out_dir,
                                      const ReportOptions& options) {
    return write_report(store, experiment, build_report(store, experiment, options), out_dir, options);
}

std::vector<std::string> write_report(const Store& store, const std::string& experiment, const ReportTable& table,
                                      const std::string& out_dir, const ReportOptions& options) {
    static const std::set<std::string> kFormats{"md", "tex", "csv", "html", "svg", "png"};
    for (const auto& f : options.formats)
        if (!kFormats.count(f)) throw std::invalid_argument("unknown report format '" + f + "' (formats: md, tex, csv, html, svg, png)");
    auto wants = [&](const char* f) { return std::find(options.formats.begin(), options.formats.end(), f) != options.formats.end(); };

    const auto rows = store.results(experiment);
    ReportContext context{experiment, store.path(), rows, store.experiment_provenance(experiment), {}, {}, {}};
    for (const auto& file : options.published) {
        const PublishedSet set = read_published(file);
        context.papers.insert(context.papers.end(), set.papers.begin(), set.papers.end());
        for (auto& c : compare_published(set, rows)) context.published.push_back(std::move(c));
    }
    for (const auto& spec : options.subgroups)
        context.subgroups.push_back(subgroup_table(store, table, parse_subgroup_spec(spec), options.split,
                                                  {options.resamples, options.seed}, options.level));
    namespace fs = std::filesystem;
    fs::create_directories(out_dir);
    std::vector<std::string> written;
    auto write = [&](const std::string& name, const std::string& text) {
        const auto path = (fs::path(out_dir) / name).string();
        std::ofstream out(path, std::ios::binary);
        out << text;
        if (!out) throw std::runtime_error("cannot write " + path);
        written.push_back(path);
    };
    const auto figures = report_figures(table);
    if (wants("svg") || wants("png")) {
        fs::create_directories(fs::path(out_dir) / "figures");
        for (const auto& figure : figures) write("figures/" + figure.name + ".svg", figure.svg);
    }
    if (wants("png"))
        for (const auto& figure : figures) {
            const auto svg = (fs::path(out_dir) / "figures" / (figure.name + ".svg")).string();
            const auto png = (fs::path(out_dir) / "figures" / (figure.name + ".png")).string();
            rasterise_svg(svg, png);
            written.push_back(png);
        }
    if (wants("md")) write("report.md", render_markdown(table, context, wants("svg") ? figures : std::vector<Figure>{}));
    if (wants("csv")) {
        write("results.csv", results_csv(rows));
        write("summary.csv", render_summary_csv(table));
    }
    if (wants("csv") && !context.published.empty()) write("published.csv", render_published_csv(context.published));
    if (wants("csv") && !context.subgroups.empty()) write("subgroups.csv", render_subgroups_csv(table, context.subgroups));
    if (wants("tex")) write("report.tex", render_latex(table, context));
    if (wants("html")) write("report.html", render_html(table, context, figures));
    return written;
}

}  // namespace ecgbench
