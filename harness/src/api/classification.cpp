#include "ecgbench/classification.hpp"

#include "ecgbench/metrics.hpp"
#include "ecgbench/resampling.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

namespace ecgbench {

namespace {

using Log = std::function<void(const std::string&)>;

std::vector<double> to_doubles(const at::Tensor& t) {
    const at::Tensor c = t.to(at::kDouble).contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

std::vector<int> to_binary(const at::Tensor& labels) {
    const at::Tensor c = (labels.to(at::kFloat) >= 0.5f).to(at::kInt).contiguous();
    return {c.data_ptr<int>(), c.data_ptr<int>() + c.numel()};
}

std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}

// Mutually exclusive classes (every test row has exactly one positive: AAMI beat classes, CinC
// 2017 rhythms): the argmax class as the prediction, scored as that literature reports it —
// accuracy, balanced accuracy, macro F1, per-class sensitivity, positive predictive value and F1
// (ecgbench::confusion_matrix). A rate that is undefined is left out, never reported as 0: a class
// absent from test has no sensitivity or F1 (it is counted in `undefined_classes`), a class never
// predicted no +P.
void add_single_label_metrics(const std::vector<double>& scores, const std::vector<int>& labels,
                              const std::vector<std::string>& classes, std::vector<Metric>& metrics) {
    const std::size_t c = classes.size(), n = labels.size() / std::max<std::size_t>(c, 1);
    std::vector<int> truth(n), predicted(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto row = labels.begin() + static_cast<std::ptrdiff_t>(i * c);
        if (std::count(row, row + static_cast<std::ptrdiff_t>(c), 1) != 1) return;  // multi-label data
        truth[i] = static_cast<int>(std::find(row, row + static_cast<std::ptrdiff_t>(c), 1) - row);
        const auto scored = scores.begin() + static_cast<std::ptrdiff_t>(i * c);
        predicted[i] = static_cast<int>(std::max_element(scored, scored + static_cast<std::ptrdiff_t>(c)) - scored);
    }
    const ConfusionMatrix confusion = confusion_matrix(predicted, truth, static_cast<int>(c));
    for (std::size_t k = 0; k < c; ++k) {
        const auto kk = static_cast<std::int64_t>(k);
        for (const auto& [name, value] : {std::pair{"sensitivity/", confusion.sensitivity(kk)}, std::pair{"ppv/", confusion.precision(kk)},
                                          std::pair{"f1/", confusion.f1(kk)}})
            if (!std::isnan(value)) metrics.push_back({name + classes[k], "test", value});
    }
    metrics.push_back({"accuracy", "test", confusion.accuracy()});
    metrics.push_back({"balanced_accuracy", "test", balanced_accuracy(predicted, truth, static_cast<int>(c))});
    metrics.push_back({"macro_f1_argmax", "test", confusion.macro_f1()});
}

// Crop-to-record aggregation: when the test rows are windows cut from longer records, the
// probabilities of a record's windows are averaged and the record (labels of its first window;
// all windows of a record share them) is scored once. Reported beside the per-window metrics as
// "record_macro_auroc" and "record_count".
void add_per_record_metrics(const EcgSplit& test, const std::vector<double>& scores, const std::vector<int>& labels,
                            std::int64_t classes, std::vector<Metric>& metrics, const Log& log) {
    const at::Tensor sources = test.source_records.to(at::kLong).contiguous();
    const std::int64_t* source = sources.data_ptr<std::int64_t>();
    std::map<std::int64_t, std::size_t> slot;
    std::vector<double> sums;
    std::vector<int> record_labels;
    std::vector<double> counts;
    const auto c = static_cast<std::size_t>(classes);
    for (std::int64_t row = 0; row < sources.size(0); ++row) {
        const auto [it, added] = slot.try_emplace(source[row], counts.size());
        if (added) {
            counts.push_back(0);
            sums.resize(sums.size() + c, 0.0);
            record_labels.insert(record_labels.end(), labels.begin() + row * classes, labels.begin() + (row + 1) * classes);
        }
        counts[it->second] += 1;
        for (std::size_t k = 0; k < c; ++k)
            sums[it->second * c + k] += 1 / (1 + std::exp(-scores[static_cast<std::size_t>(row) * c + k]));
    }
    if (counts.size() == static_cast<std::size_t>(sources.size(0))) return;  // one window per record: nothing to aggregate
    for (std::size_t r = 0; r < counts.size(); ++r)
        for (std::size_t k = 0; k < c; ++k) sums[r * c + k] /= counts[r];
    const double macro = nanmean(per_class_auroc(sums, record_labels, classes));
    if (!std::isnan(macro)) metrics.push_back({"record_macro_auroc", "test", macro});
    metrics.push_back({"record_count", "test", static_cast<double>(counts.size())});
    if (log) log("test macro AUROC per record (" + std::to_string(counts.size()) + " records) " + format(macro));
}

// The 95 % stratified per-label bootstrap interval of macro AUROC.
std::pair<double, double> stratified_per_label_ci(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes,
                                                  int resamples, std::uint64_t seed) {
    const Interval interval = stratified_per_label_interval(
        scores, labels, classes, [](const std::vector<double>& s, const std::vector<int>& l) { return auroc(s, l); }, {resamples, seed});
    return {interval.low, interval.high};
}

template <typename T>
std::vector<T> column(const std::vector<T>& table, std::size_t c, std::size_t classes) {
    std::vector<T> out;
    for (std::size_t i = c; i < table.size(); i += classes) out.push_back(table[i]);
    return out;
}

// Each class's decision threshold, chosen on validation: the one maximising that class's
// validation F1 (NaN for a class without a validation positive).
std::vector<double> validation_thresholds(const std::vector<double>& val_scores, const std::vector<int>& val_labels, std::size_t classes) {
    std::vector<double> thresholds(classes);
    for (std::size_t c = 0; c < classes; ++c)
        thresholds[c] = best_f1_threshold(column(val_scores, c, classes), column(val_labels, c, classes));
    return thresholds;
}

// Macro F1 on test at the validation thresholds, over the classes with a positive in both splits.
double macro_f1_at(const std::vector<double>& thresholds, const std::vector<double>& test_scores, const std::vector<int>& test_labels) {
    const std::size_t classes = thresholds.size();
    std::vector<double> f1;
    for (std::size_t c = 0; c < classes; ++c) {
        const auto test_truth = column(test_labels, c, classes);
        if (std::isnan(thresholds[c]) || std::count(test_truth.begin(), test_truth.end(), 1) == 0) continue;
        f1.push_back(counts_at_threshold(column(test_scores, c, classes), test_truth, thresholds[c]).f1());
    }
    return nanmean(f1);
}

// The PhysioNet/CinC Challenge 2021 score, when the classes are its SNOMED CT codes (sinus rhythm
// among them, as the physionet2021 dataset names them): a class is output where its test score
// reaches its validation threshold, never where that threshold is undefined.
void add_challenge_score(const std::vector<std::string>& classes, const std::vector<double>& thresholds,
                         const std::vector<double>& test_scores, const std::vector<int>& test_labels, std::vector<Metric>& metrics) {
    if (std::find(classes.begin(), classes.end(), kChallengeSinusRhythm) == classes.end()) return;
    std::vector<int> outputs(test_scores.size());
    for (std::size_t i = 0; i < test_scores.size(); ++i) {
        const double threshold = thresholds[i % classes.size()];
        outputs[i] = !std::isnan(threshold) && test_scores[i] >= threshold ? 1 : 0;
    }
    const double score = challenge_score(test_labels, outputs, classes, challenge2021_weights()).normalized;
    if (!std::isnan(score)) metrics.push_back({"challenge_score", "test", score});
}

}  // namespace

void require_classification_splits(const EvalContext& ctx, const std::string& task) {
    const auto class_count = static_cast<std::int64_t>(ctx.dataset.classes.size());
    if (class_count == 0) throw std::invalid_argument(task + ": dataset '" + ctx.dataset.name + "' has no classes");
    for (const EcgSplit* split : {&ctx.train, &ctx.test})
        if (split->size() == 0) throw std::invalid_argument(task + ": the train and test splits of '" + ctx.dataset.name + "' must not be empty");
    for (const EcgSplit* split : {&ctx.train, &ctx.val, &ctx.test})
        if (split->size() > 0 && (split->labels.dim() != 2 || split->labels.size(1) != class_count))
            throw std::invalid_argument(task + ": the labels of '" + ctx.dataset.name + "' do not have one column per class");
}

double macro_auroc_of(const at::Tensor& logits, const at::Tensor& labels) {
    return nanmean(per_class_auroc(to_doubles(logits), to_binary(labels), labels.size(1)));
}

TaskResult classification_result(const EvalContext& ctx, const at::Tensor& val_logits, const at::Tensor& test_logits,
                                 const ClassificationScoring& scoring) {
    return classification_result(ctx, val_logits, test_logits, scoring, BootstrapMethod::Percentile);
}

TaskResult classification_result(const EvalContext& ctx, const at::Tensor& val_logits, const at::Tensor& test_logits,
                                 const ClassificationScoring& scoring, BootstrapMethod bootstrap) {
    const std::vector<std::string>& classes = ctx.dataset.classes;
    const auto class_count = static_cast<std::int64_t>(classes.size());
    if (test_logits.dim() != 2 || test_logits.size(0) != ctx.test.size() || test_logits.size(1) != class_count)
        throw std::invalid_argument("classification_result: test logits must be [test records, classes]");
    const std::vector<double> test_scores = to_doubles(test_logits);
    const std::vector<int> test_labels = to_binary(ctx.test.labels);
    const std::vector<double> per_class = per_class_auroc(test_scores, test_labels, class_count);
    const double macro = nanmean(per_class);
    if (std::isnan(macro)) throw std::runtime_error("no class has both positive and negative records in test");

    std::vector<Metric> metrics;
    Metric headline{"macro_auroc", "test", macro};
    if (scoring.bootstrap_resamples > 0) {
        const auto resamples = static_cast<int>(scoring.bootstrap_resamples);
        const auto [low, high] =
            bootstrap == BootstrapMethod::StratifiedPerLabel
                ? stratified_per_label_ci(test_scores, test_labels, class_count, resamples, ctx.seed)
                : bootstrap_macro_auroc_ci(test_scores, test_labels, class_count, resamples, ctx.seed);
        if (!std::isnan(low)) {
            headline.ci_low = low;
            headline.ci_high = high;
        }
    }
    metrics.push_back(headline);
    for (std::size_t c = 0; c < classes.size(); ++c) {
        if (!std::isnan(per_class[c])) metrics.push_back({"auroc/" + classes[c], "test", per_class[c]});
    }
    // The other summaries the literature reports, from the same test scores.
    const auto averaged = averaged_auroc(test_scores, test_labels, class_count);
    metrics.push_back({"micro_auroc", "test", averaged.micro});
    metrics.push_back({"weighted_auroc", "test", averaged.weighted});
    metrics.push_back({"macro_auprc", "test", averaged_average_precision(test_scores, test_labels, class_count).macro});
    metrics.push_back({"undefined_classes", "test", static_cast<double>(averaged.undefined_classes), {}, {}, Direction::LowerIsBetter});
    if (val_logits.defined() && val_logits.size(0) > 0) {
        const std::vector<double> thresholds =
            validation_thresholds(to_doubles(val_logits), to_binary(ctx.val.labels), static_cast<std::size_t>(class_count));
        const double f1 = macro_f1_at(thresholds, test_scores, test_labels);
        if (!std::isnan(f1)) metrics.push_back({"macro_f1", "test", f1});
        add_challenge_score(classes, thresholds, test_scores, test_labels, metrics);
    }
    add_single_label_metrics(test_scores, test_labels, classes, metrics);
    if (ctx.test.source_records.defined()) add_per_record_metrics(ctx.test, test_scores, test_labels, class_count, metrics, scoring.log);
    if (scoring.log)
        scoring.log("test macro AUROC " + format(macro) +
                    (headline.ci_low ? " [" + format(*headline.ci_low) + ", " + format(*headline.ci_high) + "]" : ""));

    // Per-record logits, and the labels beside them: CIs, paired comparisons and subgroup metrics
    // can then be recomputed from the store alone.
    RecordOutputs outputs{"test", "logits", classes, ctx.test.record_ids, test_logits.to(at::kFloat).cpu()};
    if (outputs.record_ids.empty())
        for (std::int64_t i = 0; i < ctx.test.size(); ++i) outputs.record_ids.push_back(std::string("#").append(std::to_string(i)));
    RecordOutputs truth{"test", "labels", classes, outputs.record_ids, ctx.test.labels.to(at::kFloat).cpu()};
    return {metrics, {outputs, truth}};
}

}  // namespace ecgbench
