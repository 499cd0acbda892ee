// Comparison reports, computed only from the store (reports never rerun models): a Markdown table
// of methods × evaluations with mean ± std over seeds, and a CSV of every flat result row.
#pragma once

#include "store/store.hpp"

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

struct ReportOptions {
    std::string metric = "macro_auroc";  ///< headline metric of the table
    std::string split = "test";
};

/// One column of the comparison: a task on an evaluation dataset at one label fraction.
struct ReportColumn {
    std::string task, eval_dataset;
    double label_fraction = 1.0;
    std::string shift;  ///< test-time shift condition ("" = none)
};

/// One method's value in one column: the headline metric over seeds.
struct ReportCell {
    std::size_t column = 0;  ///< index into ReportTable::columns
    Summary summary;
    bool best = false;       ///< best mean of its column (in the metric's direction) among several methods
};

/// One row: a pretraining dataset × encoder × SSL method.
struct ReportRow {
    std::string dataset, encoder, ssl;
    bool uses_labels = false;       ///< pretrained with labels (not self-supervised)
    std::vector<ReportCell> cells;  ///< only the columns it has values in
};

/// The comparison the Markdown table shows, as data (`report --json` writes it).
struct ReportTable {
    std::string metric, split;
    bool higher_is_better = true;
    std::vector<ReportColumn> columns;  ///< grouped by task and dataset, then decreasing label fraction
    std::vector<ReportRow> rows;        ///< sorted by dataset, encoder, SSL
};
ReportTable report_table(const std::vector<FlatResult>& rows, const ReportOptions& options);

/// Markdown table: one row per method (pretraining dataset, encoder, SSL), one column per
/// (task, evaluation dataset, label fraction); best mean per column in bold.
std::string markdown_table(const std::vector<FlatResult>& rows, const ReportOptions& options);

/// CSV (RFC 4180 quoting) of the rows, header included.
std::string results_csv(const std::vector<FlatResult>& rows);

/// Writes report.md and results.csv for `experiment` into `out_dir`; returns the paths written.
/// Throws std::runtime_error when the experiment has no finished results.
std::vector<std::string> write_report(const Store& store, const std::string& experiment, const std::string& out_dir,
                                      const ReportOptions& options);

}  // namespace ecgbench
