#include "report/render.hpp"

#include "report/format.hpp"
#include "report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace ecgbench {

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string csv_number(double v) {
    std::ostringstream o;
    o.precision(10);
    o << v;
    return o.str();
}

namespace {

std::string fraction_label(double fraction) {
    std::ostringstream out;
    out << fraction * 100 << "%";
    return out.str();
}

std::string column_title(const ReportColumn& c) {
    return c.task + " → " + c.eval_dataset +
           (c.shots > 0 ? " (" + std::to_string(c.shots) + "-shot)"
                        : c.label_fraction < 1.0 ? " (" + fraction_label(c.label_fraction) + " labels)" : "") +
           (c.shift.empty() ? "" : " [" + c.shift + "]");
}

// p < 0.01: **, p < 0.05: *.
std::string significance(const std::optional<double>& p) {
    if (!p) return "";
    return *p < 0.01 ? "**" : *p < 0.05 ? "*" : "";
}

// A table cell before formatting: text plus how to emphasise it.
struct Styled {
    std::string text;
    bool bold = false, underline = false, gap = false;
};

struct Grid {
    std::vector<std::string> header;  // first three: pretrained on, encoder, SSL
    std::vector<std::vector<Styled>> rows;
};

std::string value_text(const ReportTable& table, const ReportCell& cell) {
    const auto& s = cell.summary;
    std::string text = fixed(s.mean, 3);
    if (table.ci != CiMode::Std && cell.ci_low && cell.ci_high)
        text += " [" + fixed(*cell.ci_low, 3) + ", " + fixed(*cell.ci_high, 3) + "]";
    else if (s.n > 1)
        text += " ± " + fixed(s.std, 3);
    std::string count = "n=" + std::to_string(s.n);
    if (cell.expected > s.n) count += "/" + std::to_string(cell.expected);
    if (cell.failed) count += ", " + std::to_string(cell.failed) + " failed";
    if (cell.running) count += ", " + std::to_string(cell.running) + " running";
    return text + " (" + count + ")";
}

std::vector<Styled> row_labels(const ReportRow& row) {
    return {{row.dataset}, {row.encoder}, {row.ssl + (row.uses_labels ? " †" : "")}};
}

bool show_category_means(const ReportTable& table) { return table.columns.size() > table.categories.size(); }
bool show_ranks(const ReportTable& table) { return table.rows.size() > 1 && !table.rank_columns.empty(); }

Grid main_grid(const ReportTable& table) {
    Grid grid;
    grid.header = {"pretrained on", "encoder", "SSL"};
    for (const auto& c : table.columns) grid.header.push_back(column_title(c));
    if (show_category_means(table))
        for (const auto& category : table.categories)
            grid.header.push_back(table.categories.size() == 1 ? "mean" : "mean: " + category);
    if (show_ranks(table)) grid.header.push_back("avg rank");
    // Best of each aggregate column.
    std::vector<std::optional<double>> best_mean(table.categories.size());
    std::optional<double> best_rank;
    for (const auto& row : table.rows) {
        for (std::size_t k = 0; k < row.category_means.size(); ++k)
            if (row.category_means[k] && (!best_mean[k] || (table.higher_is_better ? *row.category_means[k] > *best_mean[k]
                                                                                     : *row.category_means[k] < *best_mean[k])))
                best_mean[k] = row.category_means[k];
        if (row.average_rank && (!best_rank || *row.average_rank < *best_rank)) best_rank = row.average_rank;
    }
    const bool several = table.rows.size() > 1;
    for (const auto& row : table.rows) {
        auto out = row_labels(row);
        for (std::size_t c = 0; c < table.columns.size(); ++c) {
            if (const ReportCell* cell = row.cell(c)) {
                out.push_back({value_text(table, *cell), cell->best, cell->second, false});
                continue;
            }
            const auto gap = std::find_if(row.gaps.begin(), row.gaps.end(), [&](const ReportGap& g) { return g.column == c; });
            out.push_back({gap == row.gaps.end() ? "—" : to_string(gap->state), false, false, true});
        }
        if (show_category_means(table))
            for (std::size_t k = 0; k < row.category_means.size(); ++k) {
                const auto& m = row.category_means[k];
                out.push_back(m ? Styled{fixed(*m, 3), several && std::abs(*m - *best_mean[k]) < 1e-12, false, false} : Styled{"—", false, false, true});
            }
        if (show_ranks(table))
            out.push_back(row.average_rank ? Styled{fixed(*row.average_rank, 2), std::abs(*row.average_rank - *best_rank) < 1e-12, false, false}
                                           : Styled{"—", false, false, true});
        grid.rows.push_back(std::move(out));
    }
    return grid;
}

Grid delta_grid(const ReportTable& table) {
    Grid grid;
    grid.header = {"pretrained on", "encoder", "SSL"};
    for (const auto& c : table.columns) grid.header.push_back(column_title(c));
    for (const auto& row : table.rows) {
        auto out = row_labels(row);
        for (std::size_t c = 0; c < table.columns.size(); ++c) {
            const ReportCell* cell = row.cell(c);
            if (row.ssl == table.baseline) out.push_back({"baseline", false, false, true});
            else if (cell && cell->delta) {
                const bool better = table.higher_is_better ? *cell->delta > 0 : *cell->delta < 0;
                const std::string p = cell->p_value ? " (p=" + fixed(*cell->p_value, 3) + ")" : "";
                out.push_back({signed_fixed(*cell->delta, 3) + significance(cell->p_value) + p, better && !significance(cell->p_value).empty(), false, false});
            } else {
                out.push_back({"—", false, false, true});
            }
        }
        grid.rows.push_back(std::move(out));
    }
    return grid;
}

// Published values with a counterpart here, ours beside them (the first three columns label the
// paper's cell); `context_rows`: the others (the paper's rows we do not reproduce), theirs alone.
Grid published_grid(const std::vector<PublishedComparison>& published, bool context_rows = false) {
    Grid grid;
    grid.header = {"paper, table", "their row", "their column", "metric", "published"};
    if (!context_rows) grid.header.insert(grid.header.end(), {"ours", "ours − published"});
    for (const auto& c : published) {
        if ((c.state == PublishedState::Unmapped) != context_rows) continue;
        const auto& v = c.published;
        std::vector<Styled> out{{v.paper + ", " + v.table}, {v.row}, {v.column}, {v.metric},
                                {fixed(v.value, 3) + (v.interval.empty() ? "" : " " + v.interval)}};
        if (c.state == PublishedState::Finished) {
            std::string ours = fixed(c.ours.mean, 3);
            if (c.ours.n > 1) ours += " ± " + fixed(c.ours.std, 3);
            out.push_back({ours + " (n=" + std::to_string(c.ours.n) + ")"});
            out.push_back({signed_fixed(*c.delta, 3)});
        } else if (c.state == PublishedState::NotRun) {
            out.push_back({to_string(c.state), false, false, true});
            out.push_back({"—", false, false, true});
        }
        grid.rows.push_back(std::move(out));
    }
    return grid;
}

// " [low, high]" of a bootstrap interval, or "" where it is not computed or never defined.
std::string interval_text(const std::optional<GroupIntervals>& intervals, const Interval* interval, bool sign) {
    if (!intervals || !interval || !std::isfinite(interval->low) || !std::isfinite(interval->high)) return "";
    const auto format = [&](double v) { return sign ? signed_fixed(v, 3) : fixed(v, 3); };
    return " [" + format(interval->low) + ", " + format(interval->high) + "]";
}

// One row per method × column split by the covariate: macro AUROC per group with its bootstrap
// interval and records, the whole test split, the worst group (bold) and its gap to the whole.
Grid subgroup_grid(const ReportTable& table, const SubgroupTable& subgroups) {
    Grid grid;
    grid.header = {"pretrained on", "encoder", "SSL", "evaluation", "all records"};
    grid.header.insert(grid.header.end(), subgroups.groups.begin(), subgroups.groups.end());
    grid.header.insert(grid.header.end(), {"worst group", "all − worst"});
    for (const auto& cell : subgroups.cells) {
        auto out = row_labels(table.rows[cell.row]);
        out.push_back({column_title(table.columns[cell.column])});
        out.push_back({fixed(cell.overall, 3) + " (n=" + std::to_string(cell.seeds) + ")"});
        for (std::size_t g = 0; g < subgroups.groups.size(); ++g) {
            const std::string records = std::to_string(cell.records[g]) + " rec.";
            const Interval* interval = cell.intervals ? &cell.intervals->groups[g] : nullptr;
            if (cell.values[g])
                out.push_back({fixed(*cell.values[g], 3) + interval_text(cell.intervals, interval, false) + " (" + records + ")",
                               cell.worst == g, false, false});
            else out.push_back({"undefined (" + records + ")", false, false, true});
        }
        if (cell.worst) {
            out.push_back({subgroups.groups[*cell.worst]});
            out.push_back({signed_fixed(cell.overall - *cell.values[*cell.worst], 3) +
                           interval_text(cell.intervals, cell.intervals ? &cell.intervals->gap : nullptr, true)});
        } else {
            out.push_back({"—", false, false, true});
            out.push_back({"—", false, false, true});
        }
        grid.rows.push_back(std::move(out));
    }
    return grid;
}

std::string subgroup_intro(const SubgroupTable& subgroups) {
    std::string text = "Macro AUROC on the " + subgroups.split + " records of each group of `" + subgroups.spec.covariate +
                       "` (mean over the seeds; n = seeds), from the stored logits, labels and covariates; a group where no class "
                       "has both label values is undefined. The worst group is in bold; small groups give noisy values. "
                       "[low, high]: " + fixed(100 * subgroups.level, 0) + " % percentile bootstrap interval over the " + subgroups.split +
                       " records (" + std::to_string(subgroups.resamples) + " resamples, seed " + std::to_string(subgroups.seed) +
                       ", the same resamples for every cell; a group's value on a resample is its seed-mean macro AUROC on the "
                       "drawn records in it, so its size varies), the gap's interval from the same resamples with the worst group "
                       "chosen on each.";
    for (const auto& n : subgroups.notes) text += " Note: " + n;
    return text;
}

std::string published_intro(const ReportContext& context) {
    std::size_t mapped = 0, finished = 0;
    for (const auto& c : context.published) {
        mapped += c.state != PublishedState::Unmapped;
        finished += c.state == PublishedState::Finished;
    }
    std::ostringstream out;
    out << context.published.size() << " published values, " << mapped << " with a counterpart here, " << finished
        << " of those finished. Ours: mean ± std over the seeds that finished, on this experiment's data (which may be a "
           "stand-in, e.g. the synthetic profile: then the difference says nothing about the paper). Sources: ";
    bool first = true;
    for (const auto& p : context.papers) {
        out << (first ? "" : "; ") << p.key << " = " << p.citation;
        if (!p.url.empty()) out << " <" << p.url << ">";
        if (!p.source.empty() && p.source != p.url) out << ", numbers read from <" << p.source << ">";
        first = false;
    }
    out << ".";
    return out.str();
}

std::size_t cell_count(const ReportTable& table, std::size_t* finished_seeds) {
    std::size_t expected = 0, finished = 0;
    for (const auto& row : table.rows) {
        for (const auto& c : row.cells) {
            expected += std::max(c.expected, c.summary.n);
            finished += c.summary.n;
        }
        for (const auto& g : row.gaps) expected += g.expected;
    }
    *finished_seeds = finished;
    return expected;
}

std::string how_to_read(const ReportTable& table) {
    std::ostringstream out;
    out << "Values: " << table.metric << " on the " << table.split << " split, ";
    if (table.ci == CiMode::Bootstrap)
        out << "mean over seeds with a percentile bootstrap interval of that mean over the test records (from the stored per-record outputs)";
    else if (table.ci == CiMode::Stratified)
        out << "mean over seeds with a stratified per-label bootstrap interval of that mean (each class's positives and negatives "
               "resampled apart, from the stored per-record outputs)";
    else
        out << "mean ± sample std over seeds";
    out << "; n = seeds finished (/ declared, when fewer finished); best per column in bold, second underlined ("
        << (table.higher_is_better ? "higher" : "lower") << " is better).";
    return out.str();
}

std::string statistics_text(const ReportTable& table) {
    std::ostringstream out;
    if (show_category_means(table))
        out << "Mean columns: the mean of a method's column means over one evaluation (task → data), shown when it has them all. ";
    if (show_ranks(table))
        out << "Average rank (1 = best) over the " << table.rank_columns.size() << " column(s) every method has a value in. ";
    if (table.friedman) {
        const auto& f = *table.friedman;
        out << "Friedman test over " << f.blocks << " columns and " << f.methods << " methods: χ² = " << fixed(f.chi_square, 3)
            << " (p = " << fixed(f.p_chi_square, 4) << "), Iman–Davenport F = "
            << (std::isfinite(f.iman_davenport) ? fixed(f.iman_davenport, 3) : std::string("∞")) << "; Nemenyi critical difference of average ranks at α = "
            << fixed(table.alpha, 2) << ": " << fixed(table.critical_difference, 3) << " (Demšar 2006).";
    }
    return out.str();
}

std::string delta_text(const ReportTable& table) {
    return "Difference of each method's mean to the baseline `" + table.baseline +
           "` (same pretraining data and encoder); * p < 0.05, ** p < 0.01 in a paired bootstrap over the test records on the seeds both have "
           "(the p-value in brackets), bold: significantly better.";
}

// Distinct values with how many runs have each.
std::map<std::string, std::size_t> tally(const std::vector<ExperimentProvenance::Run>& runs, std::string ExperimentProvenance::Run::*field) {
    std::map<std::string, std::size_t> out;
    for (const auto& r : runs) ++out[r.*field];
    return out;
}

std::string duration(double seconds) {
    const auto s = static_cast<long long>(std::llround(seconds));
    char buffer[64];
    if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%lld h %02lld min", s / 3600, (s % 3600) / 60);
    else if (s >= 60) std::snprintf(buffer, sizeof buffer, "%lld min %02lld s", s / 60, s % 60);
    else std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
    return buffer;
}

struct RunTotals {
    std::map<std::string, std::map<std::string, std::size_t>> by_kind_status;
    std::map<std::string, double> seconds_by_kind;
    std::string first_start, last_end;
};

RunTotals run_totals(const ExperimentProvenance& p) {
    RunTotals t;
    for (const auto& r : p.runs) {
        ++t.by_kind_status[r.kind][r.status];
        t.seconds_by_kind[r.kind] += r.seconds;
        if (t.first_start.empty() || r.started_at < t.first_start) t.first_start = r.started_at;
        if (r.ended_at > t.last_end) t.last_end = r.ended_at;
    }
    return t;
}

std::string runs_sentence(const RunTotals& t) {
    std::ostringstream out;
    bool first = true;
    for (const auto& [kind, by_status] : t.by_kind_status) {
        out << (first ? "" : "; ") << kind << " cells' latest runs: ";
        bool inner = true;
        for (const auto& [status, n] : by_status) {
            out << (inner ? "" : ", ") << n << " " << status;
            inner = false;
        }
        const auto seconds = t.seconds_by_kind.find(kind);
        out << " (" << duration(seconds == t.seconds_by_kind.end() ? 0 : seconds->second) << " recorded)";
        first = false;
    }
    if (!t.first_start.empty()) out << "; from " << t.first_start << " to " << (t.last_end.empty() ? "now" : t.last_end);
    return out.str();
}

// ---- Markdown ----

// Table cells: `|` would end the cell and `*` (the significance markers) would turn into emphasis.
std::string md_escape(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '|' || c == '*' ? std::string("\\") + c : std::string(1, c);
    return out;
}

std::string md_grid(const Grid& grid) {
    std::ostringstream out;
    out << "|";
    for (const auto& h : grid.header) out << " " << md_escape(h) << " |";
    out << "\n|";
    for (std::size_t i = 0; i < grid.header.size(); ++i) out << "---|";
    out << "\n";
    for (const auto& row : grid.rows) {
        out << "|";
        for (const auto& cell : row) {
            std::string text = md_escape(cell.text);
            if (cell.gap && text != "—") text = "*" + text + "*";
            if (cell.underline) text = "<ins>" + text + "</ins>";
            if (cell.bold) text = "**" + text + "**";
            out << " " << text << " |";
        }
        out << "\n";
    }
    return out.str();
}

bool any_labelled(const ReportTable& table) {
    return std::any_of(table.rows.begin(), table.rows.end(), [](const ReportRow& r) { return r.uses_labels; });
}

// ---- LaTeX ----

std::string latex_escape(const std::string& text) {
    static const std::map<std::string, std::string> kUnicode{
        {"±", "$\\pm$"}, {"→", "$\\to$"}, {"†", "$^\\dagger$"}, {"—", "---"}, {"Δ", "$\\Delta$"},
        {"α", "$\\alpha$"}, {"χ²", "$\\chi^2$"}, {"–", "--"}, {"∞", "$\\infty$"}, {"š", "\\v{s}"},
        {"≤", "$\\leq$"}, {"≥", "$\\geq$"}};
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        bool replaced = false;
        for (const auto& [from, to] : kUnicode)
            if (text.compare(i, from.size(), from) == 0) {
                out += to;
                i += from.size();
                replaced = true;
                break;
            }
        if (replaced) continue;
        const char c = text[i++];
        switch (c) {
            case '\\': out += "\\textbackslash{}"; break;
            case '&': case '%': case '$': case '#': case '_': case '{': case '}': out += std::string("\\") + c; break;
            case '~': out += "\\textasciitilde{}"; break;
            case '<': case '>': out += std::string("$") + c + "$"; break;  // text-mode < > are ¡ ¿ in OT1
            case '^': out += "\\textasciicircum{}"; break;
            default: out += c;
        }
    }
    return out;
}

std::string latex_grid(const Grid& grid, const std::string& caption, const std::string& label) {
    std::ostringstream out;
    out << "\\begin{table}[t]\n\\centering\n\\small\n\\caption{" << latex_escape(caption) << "}\n\\label{" << label << "}\n"
        << "\\begin{tabular}{lll" << std::string(grid.header.size() - 3, 'r') << "}\n\\toprule\n";
    for (std::size_t i = 0; i < grid.header.size(); ++i) out << (i ? " & " : "") << latex_escape(grid.header[i]);
    out << " \\\\\n\\midrule\n";
    for (const auto& row : grid.rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            std::string text = latex_escape(row[i].text);
            if (row[i].gap && row[i].text != "—") text = "\\textit{" + text + "}";
            if (row[i].underline) text = "\\underline{" + text + "}";
            if (row[i].bold) text = "\\textbf{" + text + "}";
            out << (i ? " & " : "") << text;
        }
        out << " \\\\\n";
    }
    out << "\\bottomrule\n\\end{tabular}\n\\end{table}\n";
    return out.str();
}

std::string latex_label(const std::string& experiment, const std::string& suffix) {
    std::string out = "tab:";
    for (unsigned char c : experiment) out += std::isalnum(c) ? static_cast<char>(c) : '-';
    return out + suffix;
}

// ---- HTML ----

std::string html_grid(const Grid& grid, const std::string& caption) {
    std::ostringstream out;
    out << "<div class=\"wide\"><table>\n<caption>" << xml_escape(caption) << "</caption>\n<thead><tr>";
    for (const auto& h : grid.header) out << "<th>" << xml_escape(h) << "</th>";
    out << "</tr></thead>\n<tbody>\n";
    for (const auto& row : grid.rows) {
        out << "<tr>";
        for (std::size_t i = 0; i < row.size(); ++i) {
            std::string text = xml_escape(row[i].text);
            if (row[i].underline) text = "<u>" + text + "</u>";
            if (row[i].bold) text = "<strong>" + text + "</strong>";
            out << (i < 3 ? "<th scope=\"row\">" : row[i].gap ? "<td class=\"gap\">" : "<td>") << text << (i < 3 ? "</th>" : "</td>");
        }
        out << "</tr>\n";
    }
    out << "</tbody>\n</table></div>\n";
    return out.str();
}

const char* const kCss = R"css(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { text-align: left; font-style: italic; padding-bottom: 0.4em; }
th, td { border-top: 1px solid #ddd; border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
td { white-space: nowrap; }
.wide { overflow-x: auto; }
thead th { border-bottom: 2px solid #333; text-align: center; }
tbody th { text-align: left; font-weight: normal; }
td.gap { color: #999; font-style: italic; }
figure { margin: 1.5em 0; } figcaption { font-size: 0.9em; color: #444; max-width: 60em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
dt { font-weight: bold; } dd { margin: 0 0 0.6em 1.5em; }
.note { color: #555; }
)css";

}  // namespace

std::string render_markdown_table(const ReportTable& table) {
    if (table.rows.empty()) return "_No `" + table.metric + "` results on the " + table.split + " split._\n";
    std::string out = md_grid(main_grid(table));
    if (any_labelled(table)) out += "\n† pretrained with labels (not self-supervised).\n";
    return out;
}

std::string render_markdown(const ReportTable& table, const ReportContext& context, const std::vector<Figure>& figures) {
    std::size_t finished = 0;
    const std::size_t expected = cell_count(table, &finished);
    std::set<std::int64_t> seeds;
    for (const auto& r : context.rows) seeds.insert(r.seed);
    std::ostringstream md;
    md << "# " << context.experiment << "\n\n"
       << "From `" << context.store_path << "`: " << finished << " of " << expected << " evaluation cells finished ("
       << seeds.size() << " seeds). " << how_to_read(table) << "\n\n"
       << render_markdown_table(table);
    const std::string stats = statistics_text(table);
    if (!stats.empty()) md << "\n" << stats << "\n";
    if (!table.baseline.empty()) md << "\n## Δ to " << table.baseline << "\n\n" << delta_text(table) << "\n\n" << md_grid(delta_grid(table));
    if (!figures.empty()) {
        md << "\n## Figures\n\n";
        for (const auto& f : figures) md << "![" << f.caption << "](figures/" << f.name << ".svg)\n\n";
    }
    if (!table.notes.empty()) {
        md << "\n";
        for (const auto& n : table.notes) md << "Note: " << n << "\n";
    }
    for (const auto& subgroups : context.subgroups) {
        md << "\n## Subgroups: " << subgroups.spec.covariate << "\n\n" << md_escape(subgroup_intro(subgroups)) << "\n";
        if (!subgroups.cells.empty()) md << "\n" << md_grid(subgroup_grid(table, subgroups));
    }
    if (!context.published.empty()) {
        md << "\n## Published results\n\n" << published_intro(context) << "\n";
        if (const Grid mine = published_grid(context.published); !mine.rows.empty()) md << "\n" << md_grid(mine);
        const Grid others = published_grid(context.published, true);
        if (!others.rows.empty()) md << "\nThe paper's other rows (no counterpart here):\n\n" << md_grid(others);
    }
    const RunTotals totals = run_totals(context.provenance);
    md << "\n## Provenance\n\nCommits: ";
    bool first = true;
    for (const auto& [commit, n] : tally(context.provenance.runs, &ExperimentProvenance::Run::git_commit)) {
        md << (first ? "" : ", ") << "`" << commit << "` (" << n << " runs)";
        first = false;
    }
    md << ". " << runs_sentence(totals) << ".\n\n"
       << "All metrics (per seed, with bootstrap CIs where computed) are in `results.csv`, the table as data in `summary.csv`; provenance of "
          "each row (dataset fingerprint, leads, checkpoint sha256, plugin versions, git commit) is in the store's `provenance` view.\n";
    return md.str();
}

std::string render_latex(const ReportTable& table, const ReportContext& context) {
    std::ostringstream out;
    out << "% " << context.experiment << ": generated by `ecgbench report` from " << context.store_path << ".\n"
        << "% Needs \\usepackage{booktabs} in the preamble.\n";
    std::string caption = context.experiment + ". " + how_to_read(table);
    if (any_labelled(table)) caption += " † pretrained with labels (not self-supervised).";
    const std::string stats = statistics_text(table);
    if (!stats.empty()) caption += " " + stats;
    out << latex_grid(main_grid(table), caption, latex_label(context.experiment, ""));
    if (!table.baseline.empty())
        out << "\n" << latex_grid(delta_grid(table), context.experiment + ": " + delta_text(table), latex_label(context.experiment, "-delta"));
    for (const auto& subgroups : context.subgroups)
        if (!subgroups.cells.empty())
            out << "\n" << latex_grid(subgroup_grid(table, subgroups), context.experiment + ", subgroups: " + subgroups.spec.covariate + ". " + subgroup_intro(subgroups),
                                      latex_label(context.experiment, "-subgroups-" + subgroups.spec.covariate));
    if (!context.published.empty()) {
        if (const Grid mine = published_grid(context.published); !mine.rows.empty())
            out << "\n" << latex_grid(mine, context.experiment + ", published results: " + published_intro(context),
                                      latex_label(context.experiment, "-published"));
        const Grid others = published_grid(context.published, true);
        if (!others.rows.empty())
            out << "\n" << latex_grid(others, context.experiment + ": the paper's other rows (no counterpart here).",
                                      latex_label(context.experiment, "-published-context"));
    }
    return out.str();
}

std::string render_html(const ReportTable& table, const ReportContext& context, const std::vector<Figure>& figures) {
    std::size_t finished = 0;
    const std::size_t expected = cell_count(table, &finished);
    const auto& p = context.provenance;
    std::ostringstream html;
    html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << xml_escape(context.experiment)
         << " — ecgbench report</title>\n<style>" << kCss << "</style>\n</head>\n<body>\n"
         << "<h1>" << xml_escape(context.experiment) << "</h1>\n"
         << "<p>From <code>" << xml_escape(context.store_path) << "</code>: " << finished << " of " << expected
         << " evaluation cells finished. " << xml_escape(how_to_read(table)) << "</p>\n"
         << "<h2 id=\"results\">Results</h2>\n";
    if (table.rows.empty()) html << "<p>No results yet.</p>\n";
    else html << html_grid(main_grid(table), table.metric + " (" + table.split + ")");
    if (any_labelled(table)) html << "<p class=\"note\">† pretrained with labels (not self-supervised).</p>\n";
    const std::string stats = statistics_text(table);
    if (!stats.empty()) html << "<p>" << xml_escape(stats) << "</p>\n";
    if (!table.baseline.empty())
        html << "<h2 id=\"deltas\">Δ to " << xml_escape(table.baseline) << "</h2>\n<p>" << xml_escape(delta_text(table)) << "</p>\n"
             << html_grid(delta_grid(table), "difference to " + table.baseline);
    for (const auto& n : table.notes) html << "<p class=\"note\">Note: " << xml_escape(n) << "</p>\n";
    if (!figures.empty()) {
        html << "<h2 id=\"figures\">Figures</h2>\n";
        for (const auto& f : figures)
            html << "<figure id=\"fig-" << f.name << "\">\n" << f.svg << "<figcaption>" << xml_escape(f.caption) << "</figcaption>\n</figure>\n";
    }
    const RunTotals totals = run_totals(p);
    for (const auto& subgroups : context.subgroups) {
        html << "<h2 id=\"subgroups-" << xml_escape(subgroups.spec.covariate) << "\">Subgroups: " << xml_escape(subgroups.spec.covariate)
             << "</h2>\n<p>" << xml_escape(subgroup_intro(subgroups)) << "</p>\n";
        if (!subgroups.cells.empty()) html << html_grid(subgroup_grid(table, subgroups), "macro AUROC per " + subgroups.spec.covariate + " group");
    }
    if (!context.published.empty()) {
        html << "<h2 id=\"published\">Published results</h2>\n<p>" << xml_escape(published_intro(context)) << "</p>\n";
        if (const Grid mine = published_grid(context.published); !mine.rows.empty()) html << html_grid(mine, "published values and ours");
        if (const Grid others = published_grid(context.published, true); !others.rows.empty())
            html << html_grid(others, "the paper's other rows (no counterpart here)");
    }
    html << "<h2 id=\"provenance\">Provenance</h2>\n<dl>\n"
         << "<dt>Experiment file</dt><dd><code>" << xml_escape(p.file) << "</code> (registered " << xml_escape(p.updated_at) << ")</dd>\n"
         << "<dt>Runs</dt><dd>" << xml_escape(runs_sentence(totals)) << "</dd>\n<dt>Commits</dt><dd>";
    for (const auto& [commit, n] : tally(p.runs, &ExperimentProvenance::Run::git_commit))
        html << "<code>" << xml_escape(commit) << "</code> (" << n << " runs)<br>";
    html << "</dd>\n<dt>Hosts</dt><dd>";
    for (const auto& [host, n] : tally(p.runs, &ExperimentProvenance::Run::host)) html << xml_escape(host) << " (" << n << " runs)<br>";
    html << "</dd>\n<dt>Library versions</dt><dd>";
    for (const auto& [versions, n] : tally(p.runs, &ExperimentProvenance::Run::library_versions))
        html << "<pre>" << xml_escape(versions) << "</pre>(" << n << " runs)";
    html << "</dd>\n<dt>Plugin versions</dt><dd>";
    for (const auto& [versions, n] : tally(p.runs, &ExperimentProvenance::Run::plugin_versions))
        html << "<pre>" << xml_escape(versions) << "</pre>(" << n << " runs)";
    html << "</dd>\n<dt>Dropped records</dt><dd>";
    if (p.dropped.empty()) html << "none recorded for the datasets this experiment read";
    else {
        html << "<table><thead><tr><th>dataset</th><th>fingerprint</th><th>records dropped</th></tr></thead><tbody>";
        for (const auto& d : p.dropped)
            html << "<tr><th scope=\"row\">" << xml_escape(d.dataset) << "</th><td><code>" << xml_escape(d.fingerprint.substr(0, 12))
                 << "</code></td><td>" << d.records << "</td></tr>";
        html << "</tbody></table>";
    }
    html << "</dd>\n</dl>\n<details>\n<summary>Configuration (the experiment file as last run)</summary>\n<pre>"
         << xml_escape(p.toml_text) << "</pre>\n</details>\n</body>\n</html>\n";
    return html.str();
}

std::string render_summary_csv(const ReportTable& table) {
    std::ostringstream out;
    out << "dataset,encoder,ssl,uses_labels,task,eval_dataset,label_fraction,shots,shift,metric,split,state,mean,std,n,expected,failed,running,"
           "ci_low,ci_high,best,second,delta,p_value,average_rank\n";
    auto optional = [](const std::optional<double>& v) { return v ? csv_number(*v) : std::string(); };
    for (const auto& row : table.rows) {
        for (std::size_t c = 0; c < table.columns.size(); ++c) {
            const auto& col = table.columns[c];
            const ReportCell* cell = row.cell(c);
            const auto gap = std::find_if(row.gaps.begin(), row.gaps.end(), [&](const ReportGap& g) { return g.column == c; });
            if (!cell && gap == row.gaps.end()) continue;
            out << csv_field(row.dataset) << ',' << csv_field(row.encoder) << ',' << csv_field(row.ssl) << ',' << (row.uses_labels ? 1 : 0)
                << ',' << csv_field(col.task) << ',' << csv_field(col.eval_dataset) << ',' << csv_number(col.label_fraction) << ','
                << col.shots << ',' << csv_field(col.shift) << ',' << csv_field(table.metric) << ',' << csv_field(table.split) << ',';
            if (cell) {
                out << (cell->summary.n < cell->expected ? "partial" : "finished") << ',' << csv_number(cell->summary.mean) << ','
                    << csv_number(cell->summary.std) << ',' << cell->summary.n << ',' << std::max(cell->expected, cell->summary.n) << ','
                    << cell->failed << ',' << cell->running << ',' << optional(cell->ci_low) << ',' << optional(cell->ci_high) << ','
                    << (cell->best ? 1 : 0) << ',' << (cell->second ? 1 : 0) << ',' << optional(cell->delta) << ','
                    << optional(cell->p_value);
            } else {
                out << csv_field(to_string(gap->state)) << ",,,0," << gap->expected << ",,,,,0,0,,";
            }
            out << ',' << optional(row.average_rank) << '\n';
        }
    }
    return out.str();
}

std::string render_subgroups_csv(const ReportTable& table, const std::vector<SubgroupTable>& subgroups) {
    const auto bound = [](const std::optional<GroupIntervals>& intervals, const Interval* interval, bool high) -> std::string {
        if (!intervals || !interval) return "";
        const double v = high ? interval->high : interval->low;
        return std::isfinite(v) ? csv_number(v) : "";
    };
    std::ostringstream out;
    out << "covariate,group,dataset,encoder,ssl,task,eval_dataset,label_fraction,shots,shift,split,metric,value,ci_low,ci_high,records,"
           "overall,gap,gap_low,gap_high,worst,n\n";
    for (const auto& s : subgroups)
        for (const auto& cell : s.cells) {
            const auto& row = table.rows[cell.row];
            const auto& col = table.columns[cell.column];
            const Interval* gap = cell.intervals ? &cell.intervals->gap : nullptr;
            for (std::size_t g = 0; g < s.groups.size(); ++g) {
                const Interval* interval = cell.intervals ? &cell.intervals->groups[g] : nullptr;
                out << csv_field(s.spec.covariate) << ',' << csv_field(s.groups[g]) << ',' << csv_field(row.dataset) << ','
                    << csv_field(row.encoder) << ',' << csv_field(row.ssl) << ',' << csv_field(col.task) << ',' << csv_field(col.eval_dataset)
                    << ',' << csv_number(col.label_fraction) << ',' << col.shots << ',' << csv_field(col.shift) << ',' << csv_field(s.split)
                    << ",macro_auroc," << (cell.values[g] ? csv_number(*cell.values[g]) : "") << ','
                    << (cell.values[g] ? bound(cell.intervals, interval, false) : "") << ','
                    << (cell.values[g] ? bound(cell.intervals, interval, true) : "") << ',' << cell.records[g] << ','
                    << csv_number(cell.overall) << ',' << (cell.worst ? csv_number(cell.overall - *cell.values[*cell.worst]) : "") << ','
                    << (cell.worst ? bound(cell.intervals, gap, false) : "") << ',' << (cell.worst ? bound(cell.intervals, gap, true) : "")
                    << ',' << (cell.worst == g ? 1 : 0) << ',' << cell.seeds << '\n';
            }
        }
    return out.str();
}

std::string render_published_csv(const std::vector<PublishedComparison>& published) {
    std::ostringstream out;
    out << "paper,table,row,column,metric,published,interval,state,ours_mean,ours_std,ours_n,delta,ours_matched,note\n";
    for (const auto& c : published) {
        const auto& v = c.published;
        const bool done = c.state == PublishedState::Finished;
        out << csv_field(v.paper) << ',' << csv_field(v.table) << ',' << csv_field(v.row) << ',' << csv_field(v.column) << ','
            << csv_field(v.metric) << ',' << csv_number(v.value) << ',' << csv_field(v.interval) << ',' << csv_field(to_string(c.state))
            << ',' << (done ? csv_number(c.ours.mean) : "") << ',' << (done ? csv_number(c.ours.std) : "") << ','
            << (done ? std::to_string(c.ours.n) : "") << ',' << (done ? csv_number(*c.delta) : "") << ',' << csv_field(c.matched) << ','
            << csv_field(v.note) << '\n';
    }
    return out.str();
}

}  // namespace ecgbench
