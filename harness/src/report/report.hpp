// Comparison reports, computed only from the store (reports never rerun models): the methods ×
// evaluations table as data (mean ± std over seeds or a bootstrap interval from the stored
// per-record outputs, best and second per column, per-category means, average ranks with a Friedman
// test, deltas to a baseline with paired tests, seeds behind each cell, cells still missing or
// failed), and the files written from it (render.hpp, figures.hpp). Reference: docs/reports.md.
#pragma once

#include "report/stats.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

/// Mean, sample standard deviation (n−1; 0 when n = 1) and count of values.
struct Summary {
    double mean = 0;
    double std = 0;
    std::size_t n = 0;
};
Summary summarize(const std::vector<double>& values);

/// What the ± of a cell is: the seeds' sample std, or a percentile bootstrap interval of the seed
/// mean over the test records (from the stored per-record outputs) — resampling records, or each
/// class's positives and negatives apart (the stratified per-label bootstrap).
enum class CiMode { Std, Bootstrap, Stratified };

struct ReportOptions {
    std::string metric = "macro_auroc";  ///< headline metric of the table
    std::string split = "test";
    CiMode ci = CiMode::Std;
    std::string baseline;                ///< SSL name to compute deltas against ("" = none)
    int resamples = 1000;                ///< bootstrap resamples (CIs and paired tests)
    double level = 0.95;                 ///< interval level
    std::uint64_t seed = 0;              ///< resampling seed (identical resamples for every cell)
    double alpha = 0.05;                 ///< significance level of the Nemenyi critical difference
    std::vector<std::string> formats{"md", "csv"};  ///< md, tex, csv, html, svg, png
    std::vector<std::string> published;  ///< sidecar files of published numbers to print ours beside (published.hpp)
    std::vector<std::string> subgroups;  ///< covariate splits, "sex" or "age:40,65" (subgroups.hpp)
};

/// One column of the comparison: a task on an evaluation dataset at one label fraction and shift.
struct ReportColumn {
    std::string task, eval_dataset;
    double label_fraction = 1.0;
    std::string shift;  ///< test-time shift condition ("" = none)
    std::string category;                ///< "task → eval_dataset": the group its mean is taken over
    std::string noise;                   ///< the shift's noise ("" = none)
    std::optional<double> snr_db;        ///< the shift's SNR
    std::int64_t leads = 0;              ///< leads tested on (0 = unknown)
    std::int64_t shift_leads = 0;        ///< leads a shift keeps (0 = no lead shift)
    bool shift_band = false;             ///< a bandwidth or sampling-rate shift applies
    std::int64_t shots = 0;              ///< k labelled training records per class (0 = label_fraction applies)
};

/// One method's value in one column: the headline metric over the seeds that finished.
struct ReportCell {
    std::size_t column = 0;  ///< index into ReportTable::columns
    Summary summary;
    bool best = false;       ///< best mean of its column (in the metric's direction) among several methods
    bool second = false;     ///< second-best mean (columns with at least three methods)
    std::size_t expected = 0;              ///< seeds the experiment declares for it
    std::size_t failed = 0, running = 0;   ///< of those, failed (or killed) and still running
    std::optional<double> ci_low, ci_high; ///< bootstrap interval of the mean (CiMode::Bootstrap or Stratified)
    std::optional<double> delta;           ///< mean − the baseline's mean
    std::optional<double> p_value;         ///< paired bootstrap p of the delta on the stored outputs
    std::vector<std::int64_t> seeds, run_ids;  ///< the finished runs behind the mean
};

/// A column a method has no finished value in, and why.
enum class GapState { NotRun, Running, Failed, PretrainFailed };
const char* to_string(GapState state);
struct ReportGap {
    std::size_t column = 0;
    GapState state = GapState::NotRun;
    std::size_t expected = 0;
    std::string error;  ///< first recorded error
};

/// One row: a pretraining dataset × encoder × SSL method.
struct ReportRow {
    std::string dataset, encoder, ssl;
    bool uses_labels = false;       ///< pretrained with labels (not self-supervised)
    std::vector<ReportCell> cells;  ///< only the columns it has values in
    std::vector<ReportGap> gaps;    ///< the experiment's other columns for it
    std::vector<std::optional<double>> category_means;  ///< per ReportTable::categories (all its columns present)
    std::optional<double> average_rank;                 ///< over ReportTable::rank_columns
    const ReportCell* cell(std::size_t column) const;   ///< nullptr when it has no value there
};

/// The comparison, as data (`report --json` writes it).
struct ReportTable {
    std::string metric, split;
    bool higher_is_better = true;
    CiMode ci = CiMode::Std;
    std::string baseline;
    std::vector<ReportColumn> columns;  ///< grouped by task and dataset, then decreasing label fraction, then shift
    std::vector<ReportRow> rows;        ///< sorted by dataset, encoder, SSL
    std::vector<std::string> categories;      ///< distinct ReportColumn::category, in column order
    std::vector<std::size_t> rank_columns;    ///< columns every row has a value in (ranks, Friedman)
    std::optional<FriedmanTest> friedman;     ///< over rank_columns (≥ 2 methods and columns)
    double critical_difference = 0;           ///< Nemenyi CD at `alpha` (with friedman)
    double alpha = 0.05;
    std::vector<std::string> notes;           ///< what could not be computed, and why
};

/// The table from result rows alone (each column's cells as finished). `cells` (the experiment's
/// evaluation cells, Store::experiment_eval_cells) adds the columns and gaps nothing finished in yet,
/// the seeds expected, and the shift details figures plot against.
ReportTable report_table(const std::vector<FlatResult>& rows, const ReportOptions& options,
                         const std::vector<ExperimentEvalCell>& cells = {});

/// Bootstrap intervals (CiMode::Bootstrap, Stratified) and baseline p-values from the stored per-record outputs
/// (macro AUROC from logits and labels); what it cannot compute is listed in `table.notes`.
void add_resampled_statistics(ReportTable& table, const Store& store, const ReportOptions& options);

/// report_table over the store's results and cells, then add_resampled_statistics. Throws
/// std::runtime_error listing the stored experiments when `experiment` is not one of them.
ReportTable build_report(const Store& store, const std::string& experiment, const ReportOptions& options);

/// CSV (RFC 4180 quoting) of the rows, header included.
std::string results_csv(const std::vector<FlatResult>& rows);

/// Writes the report of `experiment` into `out_dir` in options.formats: md → report.md, csv →
/// results.csv (every result row) and summary.csv (the table, one row per method × column), tex →
/// report.tex, html → report.html (self-contained), svg → figures/*.svg. Returns the paths written.
/// Renders partial results (missing cells marked). Throws std::runtime_error when the experiment is
/// not in the store, std::invalid_argument for an unknown format or baseline.
std::vector<std::string> write_report(const Store& store, const std::string& experiment, const std::string& out_dir,
                                      const ReportOptions& options);
/// The same from a table already built with build_report(store, experiment, options).
std::vector<std::string> write_report(const Store& store, const std::string& experiment, const ReportTable& table,
                                      const std::string& out_dir, const ReportOptions& options);

}  // namespace ecgbench
