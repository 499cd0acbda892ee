// What changed between two experiments (`ecgbench report --compare A B`): their evaluation cells
// matched by name (pretraining data, encoder, SSL, task, evaluation data, label fraction, shift,
// seed), each one added, removed, identical (the same cell: one stored result, so no change) or
// changed (another configuration: the metric's difference B − A, and, where both runs kept logits
// and labels of the same test records, a paired bootstrap interval and a permutation test).
#pragma once

#include "report/compare.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

struct ExperimentChange {
    enum class Kind { Added, Removed, Same, Changed };
    Kind kind = Kind::Same;
    std::string dataset, encoder, ssl, task, eval_dataset, shift;
    double label_fraction = 1.0;
    std::int64_t shots = 0;  ///< k-shot cell (0 = label_fraction applies)
    std::int64_t seed = 0;
    std::optional<double> a, b;                 ///< the metric in A and in B
    std::optional<double> low, high;            ///< paired-bootstrap interval of b − a (macro AUROC, shared records)
    std::optional<double> p_bootstrap, p_permutation;
};
const char* to_string(ExperimentChange::Kind kind);

/// Cells of experiments `a` and `b` (metric and split as in a report), in name order. Throws
/// std::runtime_error naming an experiment the store does not hold.
std::vector<ExperimentChange> compare_experiments(const Store& store, const std::string& a, const std::string& b,
                                                  const std::string& metric, const std::string& split,
                                                  const CompareOptions& options = {});

/// A Markdown summary (counts) and table of the changes; identical cells are counted, not listed.
std::string experiment_changes_markdown(const std::vector<ExperimentChange>& changes, const std::string& a, const std::string& b,
                                        const std::string& metric, const CompareOptions& options);

}  // namespace ecgbench
