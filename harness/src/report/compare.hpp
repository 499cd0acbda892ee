// Paired comparison of two SSL methods on the same test sets, from the per-record outputs in the
// store (logits and labels): for every evaluation cell the two methods share (same pretraining
// data, encoder, task, evaluation data, label fraction, shift and seed), the macro AUROC of each,
// the paired-bootstrap interval of their difference on identical resamples (records, or each class's
// positives and negatives apart: the stratified per-label bootstrap), and a permutation test.
#pragma once

#include "store/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ecgbench {

struct CompareOptions {
    int resamples = 1000;        ///< paired bootstrap draws
    int permutations = 1000;     ///< permutation test draws
    double level = 0.95;         ///< interval level
    std::uint64_t seed = 0;      ///< resamples and permutations (the same for every cell)
    bool stratified = false;     ///< paired stratified per-label bootstrap instead of resampling records
};

/// One shared evaluation cell, method a against method b.
struct ComparedCell {
    std::string dataset, encoder, task, eval_dataset, shift;
    double label_fraction = 1.0;
    std::int64_t shots = 0;  ///< k-shot cell (0 = label_fraction applies)
    std::int64_t seed = 0;
    std::int64_t records = 0;
    double auroc_a = 0, auroc_b = 0;
    double difference = 0, low = 0, high = 0;  ///< a − b and its interval
    double p_bootstrap = 0, p_permutation = 0;
};

/// Every cell of `experiment` evaluated for both SSL methods (by their experiment names). Throws
/// std::runtime_error naming the run when a run kept no logits or labels, or the two runs scored
/// different records; std::invalid_argument when no cell is shared.
std::vector<ComparedCell> compare_methods(const Store& store, const std::string& experiment, const std::string& a,
                                          const std::string& b, const CompareOptions& options = {});

/// A Markdown table of the comparison, one row per cell.
std::string comparison_markdown(const std::vector<ComparedCell>& cells, const std::string& a, const std::string& b,
                                const CompareOptions& options);

}  // namespace ecgbench
