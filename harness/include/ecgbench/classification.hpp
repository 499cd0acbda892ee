// What every classification task reports from its model's scores, in one place, so a linear probe,
// an MLP or attention probe and a fine-tuned model are scored identically: test macro AUROC with a
// bootstrap CI, per-class, micro and weighted AUROC, macro AUPRC, the count of undefined classes,
// macro F1 at per-class thresholds chosen on validation (and, at those thresholds, the PhysioNet/CinC
// Challenge 2021 score when the classes are its SNOMED CT codes), argmax metrics when the classes are
// mutually exclusive, per-record aggregation when the test rows are windows of longer records, and
// the per-record logits and labels the store keeps for later CIs and paired tests.
#pragma once

#include "ecgbench/task.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace ecgbench {

/// How the test macro AUROC's CI resamples the test records.
enum class BootstrapMethod {
    Percentile,          ///< records drawn with replacement (bootstrap_macro_auroc_ci)
    StratifiedPerLabel,  ///< each class's positives and negatives drawn separately (stratified_per_label_interval)
};

struct ClassificationScoring {
    std::int64_t bootstrap_resamples = 200;  ///< draws for the test macro AUROC's 95 % CI (0 = none)
    std::function<void(const std::string&)> log;  ///< progress lines (may be empty)
};

/// Checks that the evaluation dataset has classes, that train and test are not empty and that every
/// split's labels have one column per class; std::invalid_argument naming `task` and the dataset.
void require_classification_splits(const EvalContext& context, const std::string& task);

/// Scores `test_logits` [test records, classes] against `context.test.labels` (and, for the F1
/// thresholds, `val_logits` against `context.val.labels`; pass an undefined tensor when there is no
/// validation split). Throws std::runtime_error when no class has both labels in test.
TaskResult classification_result(const EvalContext& context, const at::Tensor& val_logits, const at::Tensor& test_logits,
                                 const ClassificationScoring& scoring);
/// The same with the CI drawn by `bootstrap` (the four-argument form: Percentile). An overload rather
/// than a ClassificationScoring member, so that plugins built against ABI 8 keep working.
TaskResult classification_result(const EvalContext& context, const at::Tensor& val_logits, const at::Tensor& test_logits,
                                 const ClassificationScoring& scoring, BootstrapMethod bootstrap);

/// Validation macro AUROC of `logits` against `labels` [records, classes] (NaN when no class has
/// both labels): the selection criterion of the probes.
double macro_auroc_of(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace ecgbench
