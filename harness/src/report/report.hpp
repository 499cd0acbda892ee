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
