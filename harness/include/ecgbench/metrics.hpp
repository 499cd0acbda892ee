// Evaluation metrics, equal to scikit-learn's definitions (tests check parity on hand-made cases).
// Plain vectors so the store/report side can use them without LibTorch.
#pragma once

#include <cstdint>
#include <vector>

namespace ecgbench {

/// Area under the ROC curve of binary `labels` (0/1) given `scores`; ties get the average rank
/// (sklearn.metrics.roc_auc_score). NaN when only one class is present.
double auroc(const std::vector<double>& scores, const std::vector<int>& labels);

/// Per-class AUROC for row-major scores/labels of shape [n, classes]; NaN for one-class columns.
std::vector<double> per_class_auroc(const std::vector<double>& scores, const std::vector<int>& labels,
                                    std::int64_t classes);

/// Mean of the non-NaN entries (sklearn's macro average over evaluable classes); NaN if none.
double nanmean(const std::vector<double>& values);

/// Percentile bootstrap 95 % CI of macro AUROC: `resamples` draws of n rows with replacement,
/// seeded. Returns {low, high}; draws where no class is evaluable are skipped.
std::pair<double, double> bootstrap_macro_auroc_ci(const std::vector<double>& scores, const std::vector<int>& labels,
                                                    std::int64_t classes, int resamples, std::uint64_t seed);

}  // namespace ecgbench
