// `linear_probe`: the standard frozen-encoder evaluation. Embeds train/val/test once, standardises
// with train statistics, fits one L2-regularised logistic regression per class (a multi-label
// sigmoid layer trained with BCE, full batch, L-BFGS) for each penalty on a log grid, picks the
// penalty with the best validation macro AUROC and reports that model on the test split: macro
// AUROC (with a bootstrap CI), per-class, micro and weighted AUROC, macro AUPRC, macro F1 at per-class
// thresholds chosen on validation, and how many classes were undefined on test (one label value).
// With mutually exclusive classes (one positive per test record) it also scores the argmax class:
// accuracy, balanced accuracy, macro F1, per-class sensitivity and PPV.
// With `covariates`, the declared covariates join the embedding (the covariate-adjusted predictor of
// distribution-shift studies: ECG only vs ECG + age/sex); with use_ecg = false they are used alone.
//
// Objective per penalty λ: mean over records of the summed per-class BCE + λ/2 ‖W‖² (bias not
// penalised). For comparison with scikit-learn's LogisticRegression (per class) this is C = 1/(λ n).
// Everything runs in float64 on the CPU: the problem is small and double keeps L-BFGS's line
// search well behaved when λ is tiny.
#include "ecgbench/metrics.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/task.hpp"

#include <ATen/ATen.h>
#include <torch/optim/lbfgs.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::EvalContext;
using ecgbench::Metric;
using ecgbench::Params;
using ecgbench::ParamType;

struct Settings {
    double l2_min = 1e-4;
    double l2_max = 10;
    std::int64_t l2_steps = 6;
    std::int64_t max_iter = 100;
    std::int64_t bootstrap_resamples = 200;
    std::int64_t batch_size = 256;
    std::vector<std::string> covariates;  // appended to the features: the covariate-adjusted predictor
    bool use_ecg = true;                  // false: covariates only (what the covariates alone predict)
    std::string select_by = "macro_auroc"; // validation criterion for λ
};

struct Model {
    at::Tensor weight;  // [D, C] float64
    at::Tensor bias;    // [C]
};

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

/// Penalised multi-label logistic regression by full-batch L-BFGS from a fixed start (zero
/// weights, bias at the class log-odds), so each λ's fit is independent of the grid order.
Model fit(const at::Tensor& x, const at::Tensor& y, double l2, std::int64_t max_iter) {
    torch::AutoGradMode grad_on(true);  // the host may call evaluate() under NoGradGuard
    const std::int64_t n = x.size(0), classes = y.size(1);
    const at::Tensor prevalence = y.mean(0).clamp(1e-3, 1.0 - 1e-3);
    at::Tensor weight = at::zeros({x.size(1), classes}, at::kDouble).set_requires_grad(true);
    at::Tensor bias = at::log(prevalence / (1.0 - prevalence)).set_requires_grad(true);

    torch::optim::LBFGS optimiser({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                      .max_iter(max_iter)
                                                      .max_eval(max_iter * 5 / 4 + 1)
                                                      .tolerance_grad(1e-6)
                                                      .tolerance_change(1e-9)
                                                      .history_size(10)
                                                      .line_search_fn("strong_wolfe"));
    auto closure = [&]() -> at::Tensor {
        optimiser.zero_grad();
        const at::Tensor logits = at::addmm(bias, x, weight);
        at::Tensor loss = at::binary_cross_entropy_with_logits(logits, y, {}, {}, at::Reduction::Sum) /
                              static_cast<double>(n) +
                          0.5 * l2 * weight.pow(2).sum();
        loss.backward();
        return loss;
    };
    optimiser.step(closure);
    return {weight.detach(), bias.detach()};
}

at::Tensor scores_of(const Model& m, const at::Tensor& x) { return at::addmm(m.bias, x, m.weight); }

class LinearProbe final : public ecgbench::Task {
public:
    explicit LinearProbe(const Params& p) {
        s_.l2_min = p.get_float("l2_min");
        s_.l2_max = p.get_float("l2_max");
        s_.l2_steps = p.get_int("l2_steps");
        s_.max_iter = p.get_int("max_iter");
        s_.bootstrap_resamples = p.get_int("bootstrap_resamples");
        s_.batch_size = p.get_int("batch_size");
        s_.covariates = p.get_strings("covariates");
        s_.use_ecg = p.get_bool("use_ecg");
        s_.select_by = p.get_string("select_by");
        if (s_.l2_min > s_.l2_max) throw std::invalid_argument("linear_probe: l2_min is larger than l2_max");
        if (!s_.use_ecg && s_.covariates.empty())
            throw std::invalid_argument("linear_probe: use_ecg = false needs at least one entry in `covariates`");
    }

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        auto log = [&](const std::string& line) {
            if (ctx.log) ctx.log("linear_probe: " + line);
        };
        const std::vector<std::string>& classes = ctx.dataset.classes;
        const auto class_count = static_cast<std::int64_t>(classes.size());
        if (class_count == 0) {
            throw std::invalid_argument("linear_probe: dataset '" + ctx.dataset.name + "' has no classes");
        }
        for (const ecgbench::EcgSplit* split : {&ctx.train, &ctx.test}) {
            if (split->size() == 0) throw std::invalid_argument("linear_probe: the train and test splits must not be empty");
        }
        for (const ecgbench::EcgSplit* split : {&ctx.train, &ctx.val, &ctx.test}) {
            if (split->size() > 0 && (split->labels.dim() != 2 || split->labels.size(1) != class_count)) {
                throw std::invalid_argument("linear_probe: labels do not have one column per dataset class");
            }
        }

        log("embedding " + std::to_string(ctx.train.size()) + "/" + std::to_string(ctx.val.size()) + "/" +
            std::to_string(ctx.test.size()) + " records (train/val/test)");
        at::Tensor train_x = features(ctx, ctx.train);
        at::Tensor val_x = ctx.val.size() > 0 ? features(ctx, ctx.val) : at::Tensor();
        at::Tensor test_x = features(ctx, ctx.test);

        // Standardise with train statistics; constant features become 0 instead of NaN.
        const at::Tensor mean = train_x.mean(0, true);
        const at::Tensor sd = train_x.std(0, /*unbiased=*/false, true).clamp_min(1e-8);
        auto standardise = [&](const at::Tensor& t) { return t.defined() ? ((t - mean) / sd).contiguous() : t; };
        train_x = standardise(train_x);
        val_x = standardise(val_x);
        test_x = standardise(test_x);
        const at::Tensor train_y = ctx.train.labels.to(at::kDouble);

        // Grid, largest penalty first: on ties the simpler model wins.
        std::vector<double> grid;
        for (std::int64_t k = s_.l2_steps - 1; k >= 0; --k) {
            const double f = s_.l2_steps == 1 ? 0.0 : static_cast<double>(k) / static_cast<double>(s_.l2_steps - 1);
            grid.push_back(std::exp(std::log(s_.l2_min) + f * (std::log(s_.l2_max) - std::log(s_.l2_min))));
        }
        const std::vector<int> val_labels = val_x.defined() ? to_binary(ctx.val.labels) : std::vector<int>{};
        // Selection criterion on validation, as "higher is better".
        const bool by_log_loss = s_.select_by == "log_loss";
        auto criterion = [&](const Model& model) {
            const at::Tensor logits = scores_of(model, val_x);
            if (by_log_loss) return -at::binary_cross_entropy_with_logits(logits, ctx.val.labels.to(at::kDouble)).item<double>();
            return ecgbench::nanmean(ecgbench::per_class_auroc(to_doubles(logits), val_labels, class_count));
        };
        double best_val = -std::numeric_limits<double>::infinity();
        double best_l2 = grid[grid.size() / 2];
        Model best;
        for (double l2 : grid) {
            Model model = fit(train_x, train_y, l2, s_.max_iter);
            const double value = val_x.defined() ? criterion(model) : std::numeric_limits<double>::quiet_NaN();
            log("l2 " + format(l2) + ": val " + (by_log_loss ? "log loss " + format(-value) : "macro AUROC " + format(value)));
            if (!std::isnan(value) && value > best_val) {
                best_val = value;
                best_l2 = l2;
                best = model;
            }
        }
        if (!best.weight.defined()) {
            // No class is evaluable on val: fall back to the middle of the grid, and say so.
            log("no class has both labels in val; using l2 " + format(best_l2) + " unselected");
            best = fit(train_x, train_y, best_l2, s_.max_iter);
            best_val = std::numeric_limits<double>::quiet_NaN();
        }
        // Every grid model was fit on train only, so the selected one is the refit at that λ.

        const std::vector<double> test_scores = to_doubles(scores_of(best, test_x));
        const std::vector<int> test_labels = to_binary(ctx.test.labels);
        const std::vector<double> per_class = ecgbench::per_class_auroc(test_scores, test_labels, class_count);
        const double macro = ecgbench::nanmean(per_class);
        if (std::isnan(macro)) {
            throw std::runtime_error("linear_probe: no class has both positive and negative records in test");
        }

        std::vector<Metric> metrics;
        Metric headline{"macro_auroc", "test", macro};
        if (s_.bootstrap_resamples > 0) {
            const auto [low, high] = ecgbench::bootstrap_macro_auroc_ci(
                test_scores, test_labels, class_count, static_cast<int>(s_.bootstrap_resamples), ctx.seed);
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
        const auto averaged = ecgbench::averaged_auroc(test_scores, test_labels, class_count);
        metrics.push_back({"micro_auroc", "test", averaged.micro});
        metrics.push_back({"weighted_auroc", "test", averaged.weighted});
        metrics.push_back({"macro_auprc", "test", ecgbench::averaged_average_precision(test_scores, test_labels, class_count).macro});
        metrics.push_back({"undefined_classes", "test", static_cast<double>(averaged.undefined_classes), {}, {},
                           ecgbench::Direction::LowerIsBetter});
        if (val_x.defined()) {
            const double f1 = macro_f1_at_val_thresholds(to_doubles(scores_of(best, val_x)), val_labels, test_scores, test_labels,
                                                         static_cast<std::size_t>(class_count));
            if (!std::isnan(f1)) metrics.push_back({"macro_f1", "test", f1});
        }
        add_single_label_metrics(test_scores, test_labels, classes, metrics);
        if (ctx.test.source_records.defined()) add_per_record_metrics(ctx.test, test_scores, test_labels, class_count, metrics, log);
        if (!std::isnan(best_val)) {
            if (by_log_loss) {
                metrics.push_back({"log_loss", "val", -best_val, {}, {}, ecgbench::Direction::LowerIsBetter});
            } else {
                metrics.push_back({"macro_auroc", "val", best_val});
            }
        }
        metrics.push_back({"l2", "val", best_l2});
        log("test macro AUROC " + format(macro) +
            (headline.ci_low ? " [" + format(*headline.ci_low) + ", " + format(*headline.ci_high) + "]" : "") +
            " at l2 " + format(best_l2));
        // Per-record logits of the selected model: later CIs, subgroup metrics and paired tests.
        ecgbench::RecordOutputs outputs{"test", "logits", classes, ctx.test.record_ids,
                                        scores_of(best, test_x).to(at::kFloat)};
        if (outputs.record_ids.empty())
            for (std::int64_t i = 0; i < ctx.test.size(); ++i) outputs.record_ids.push_back("#" + std::to_string(i));
        // The labels beside the logits: CIs, paired comparisons and subgroup metrics can then be
        // recomputed from the store alone.
        ecgbench::RecordOutputs truth{"test", "labels", classes, outputs.record_ids, ctx.test.labels.to(at::kFloat)};
        return {metrics, {outputs, truth}};
    }

private:
    // Mutually exclusive classes (every test row has exactly one positive: AAMI beat classes, CinC
    // 2017 rhythms): the argmax class as the prediction, scored as that literature reports it —
    // accuracy, balanced accuracy, macro F1, per-class sensitivity and positive predictive value.
    static void add_single_label_metrics(const std::vector<double>& scores, const std::vector<int>& labels,
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
        std::vector<double> f1;
        std::int64_t correct = 0;
        for (std::size_t i = 0; i < n; ++i) correct += predicted[i] == truth[i];
        for (std::size_t k = 0; k < c; ++k) {
            std::vector<double> is_predicted(n);
            std::vector<int> is_true(n);
            for (std::size_t i = 0; i < n; ++i) {
                is_predicted[i] = predicted[i] == static_cast<int>(k);
                is_true[i] = truth[i] == static_cast<int>(k);
            }
            const auto counts = ecgbench::counts_at_threshold(is_predicted, is_true, 0.5);
            if (counts.true_positives + counts.false_negatives == 0) continue;  // class absent from test
            f1.push_back(counts.f1());
            metrics.push_back({"sensitivity/" + classes[k], "test", counts.sensitivity()});
            if (!std::isnan(counts.precision())) metrics.push_back({"ppv/" + classes[k], "test", counts.precision()});
        }
        metrics.push_back({"accuracy", "test", static_cast<double>(correct) / static_cast<double>(n)});
        metrics.push_back({"balanced_accuracy", "test", ecgbench::balanced_accuracy(predicted, truth, static_cast<int>(c))});
        metrics.push_back({"macro_f1_argmax", "test", ecgbench::nanmean(f1)});
    }

    // Crop-to-record aggregation: when the test rows are windows cut from longer records, the
    // probabilities of a record's windows are averaged and the record (labels of its first window;
    // all windows of a record share them) is scored once. Reported beside the per-window metrics as
    // "record_macro_auroc" and "record_count".
    static void add_per_record_metrics(const ecgbench::EcgSplit& test, const std::vector<double>& scores, const std::vector<int>& labels,
                                       std::int64_t classes, std::vector<Metric>& metrics, const std::function<void(const std::string&)>& log) {
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
        const double macro = ecgbench::nanmean(ecgbench::per_class_auroc(sums, record_labels, classes));
        if (!std::isnan(macro)) metrics.push_back({"record_macro_auroc", "test", macro});
        metrics.push_back({"record_count", "test", static_cast<double>(counts.size())});
        log("test macro AUROC per record (" + std::to_string(counts.size()) + " records) " + format(macro));
    }

    // Macro F1 on test with each class's threshold chosen on validation (the one maximising that
    // class's validation F1), over the classes with a positive in both splits.
    static double macro_f1_at_val_thresholds(const std::vector<double>& val_scores, const std::vector<int>& val_labels,
                                             const std::vector<double>& test_scores, const std::vector<int>& test_labels,
                                             std::size_t classes) {
        auto column = [classes](const auto& table, std::size_t c) {
            std::vector<typename std::decay_t<decltype(table)>::value_type> out;
            for (std::size_t i = c; i < table.size(); i += classes) out.push_back(table[i]);
            return out;
        };
        std::vector<double> f1;
        for (std::size_t c = 0; c < classes; ++c) {
            const auto test_truth = column(test_labels, c);
            const double threshold = ecgbench::best_f1_threshold(column(val_scores, c), column(val_labels, c));
            if (std::isnan(threshold) || std::count(test_truth.begin(), test_truth.end(), 1) == 0) continue;
            f1.push_back(ecgbench::counts_at_threshold(column(test_scores, c), test_truth, threshold).f1());
        }
        return ecgbench::nanmean(f1);
    }

    // The embedding, the declared covariates (each with a missing-value indicator; a missing value
    // becomes the train mean, which standardisation then maps to 0), or both side by side.
    at::Tensor features(const EvalContext& ctx, const ecgbench::EcgSplit& split) const {
        std::vector<at::Tensor> columns;
        if (s_.use_ecg) columns.push_back(embed(ctx, split));
        for (const auto& name : s_.covariates) {
            const auto train_it = ctx.train.covariates.find(name), it = split.covariates.find(name);
            if (it == split.covariates.end() || train_it == ctx.train.covariates.end())
                throw std::invalid_argument("linear_probe: dataset '" + ctx.dataset.name + "' has no covariate '" + name + "'");
            const at::Tensor train_values = train_it->second.to(at::kDouble);
            const at::Tensor known = train_values.masked_select(at::isfinite(train_values));
            const double mean = known.numel() > 0 ? known.mean().item<double>() : 0.0;
            const at::Tensor values = it->second.to(at::kDouble);
            const at::Tensor missing = at::isfinite(values).logical_not();
            columns.push_back(at::where(missing, at::full_like(values, mean), values).unsqueeze(1));
            columns.push_back(missing.to(at::kDouble).unsqueeze(1));
        }
        return at::cat(columns, 1);
    }

    at::Tensor embed(const EvalContext& ctx, const ecgbench::EcgSplit& split) const {
        at::Tensor z = ecgbench::embed(*ctx.encoder, split.signals, s_.batch_size, split.lead_present).to(at::kDouble);
        if (z.dim() != 2 || z.size(0) != split.size()) {
            throw std::runtime_error("linear_probe: encoder returned embeddings of an unexpected shape");
        }
        if (!at::isfinite(z).all().item<bool>()) {
            throw std::runtime_error("linear_probe: encoder produced non-finite embeddings");
        }
        return z;
    }

    Settings s_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"linear_probe", ecgbench::PluginKind::Task, "1.0.0",
                  "frozen embeddings + L2 logistic regression per class (L-BFGS), λ by val macro AUROC; test AUROC",
                  {
                      {"l2_min", ParamType::Float, 1e-4, "smallest L2 penalty on the log grid", 1e-8, 1e4, {}},
                      {"l2_max", ParamType::Float, 10.0, "largest L2 penalty on the log grid", 1e-8, 1e4, {}},
                      {"l2_steps", ParamType::Int, std::int64_t{6}, "grid points (log-spaced, inclusive)", 1.0, 50.0, {}},
                      {"max_iter", ParamType::Int, std::int64_t{100}, "L-BFGS iterations per fit", 1.0, 10000.0, {}},
                      {"bootstrap_resamples", ParamType::Int, std::int64_t{200},
                       "bootstrap draws for the test macro AUROC 95% CI (0 = no CI)", 0.0, 100000.0, {}},
                      {"batch_size", ParamType::Int, std::int64_t{256}, "records per embedding batch", 1.0, 65536.0, {}},
                      ecgbench::param::strings("covariates", {},
                                               "covariates appended to the embedding (e.g. age, sex): the covariate-adjusted "
                                               "predictor; missing values get the train mean and an indicator column"),
                      ecgbench::param::flag("use_ecg", true, "false: fit on the covariates alone (needs `covariates`)"),
                      ecgbench::param::choice("select_by", "macro_auroc", {"macro_auroc", "log_loss"},
                                              "validation criterion for λ: macro AUROC (ranking), or BCE log loss (calibrated "
                                              "scores: use it when thresholded or argmax metrics matter)"),
                  },
                  /*needs=*/{"labels"}};
    d.make_task = [](const Params& p) { return std::make_unique<LinearProbe>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
