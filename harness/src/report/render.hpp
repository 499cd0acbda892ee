// The report's files from a ReportTable: Markdown, LaTeX (booktabs), a tidy CSV of the table and a
// self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched). Every format shows
// the same cells: value with its ± (or interval) and the seeds behind it, best bold, second
// underlined, gaps named, per-category means, average ranks, and deltas to the baseline.
#pragma once

#include "report/figures.hpp"
#include "report/published.hpp"
#include "report/report.hpp"
#include "report/subgroups.hpp"
#include "store/store.hpp"

#include <string>
#include <vector>

namespace ecgbench {

/// What a report says besides the table: where it comes from.
struct ReportContext {
    std::string experiment, store_path;
    std::vector<FlatResult> rows;      ///< every result row of the experiment
    ExperimentProvenance provenance;
    std::vector<PublishedPaper> papers;              ///< of the published values (report --published)
    std::vector<PublishedComparison> published;      ///< published values with ours beside them
    std::vector<SubgroupTable> subgroups;            ///< per covariate split (report --subgroups)
};

/// A CSV field with RFC 4180 quoting; a number in shortest round-trip-ish form (10 digits).
std::string csv_field(const std::string& text);
std::string csv_number(double value);

/// The main table in Markdown (no heading or notes).
std::string render_markdown_table(const ReportTable& table);
/// report.md: heading, how to read it, the table, deltas, statistics, notes, `figures` linked from
/// figures/<name>.svg, a short provenance.
std::string render_markdown(const ReportTable& table, const ReportContext& context, const std::vector<Figure>& figures);
/// report.tex: the table (and the delta table) as booktabs `table` environments ready to paste.
std::string render_latex(const ReportTable& table, const ReportContext& context);
/// report.html: one self-contained page with the tables, `figures` inline, statistics and provenance.
std::string render_html(const ReportTable& table, const ReportContext& context, const std::vector<Figure>& figures);
/// summary.csv: one row per method × column (gaps included) with every statistic of the cell.
std::string render_summary_csv(const ReportTable& table);
/// subgroups.csv: one row per method × column × covariate group (report --subgroups).
std::string render_subgroups_csv(const ReportTable& table, const std::vector<SubgroupTable>& subgroups);
/// published.csv: one row per published value with ours beside it.
std::string render_published_csv(const std::vector<PublishedComparison>& published);

}  // namespace ecgbench
