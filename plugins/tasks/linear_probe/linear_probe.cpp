// `linear_probe`: the standard frozen-encoder evaluation. Embeds train/val/test once, standardises
// with train statistics, fits one L2-regularised logistic regression per class (a multi-label
// sigmoid layer trained with BCE, full batch, L-BFGS) for each penalty on a log grid, picks the
// penalty with the best validation macro AUROC and reports that model on the test split: macro
// AUROC (with a bootstrap CI: percentile, or `bootstrap = "stratified"` per label), per-class, micro and
// weighted AUROC, macro AUPRC, macro F1 at per-class thresholds chosen on validation (and there the
// CinC 2021 challenge score when the classes are its SNOMED CT codes), and how many classes were
// undefined on test (one label value).
// With mutually exclusive classes (one positive per test record) it also scores the argmax class:
// accuracy, balanced accuracy, macro F1, per-class sensitivity and PPV.
// With `covariates`, the declared covariates join the embedding (the covariate-adjusted predictor of
// distribution-shift studies: ECG only vs ECG + age/sex); with use_ecg = false they are used alone.
// With covariates_at_test = "mean" the covariates are used in fitting only: every prediction
// (validation for λ, test) holds each at its training mean (and its missing-value indicator at the
// training missing rate), so after standardisation their terms are 0 and only the ECG weights, fitted
// conditional on the covariates, score the records. This is the confounder-adjusted predictor
// "fit with the confounder, predict without it" (the standard adjustment of a linear model for a
// measured confounder, e.g. Landeiro & Culotta, AAAI 2018, "Robust text classification under
// confounding shift", simplified to holding the covariates at their mean instead of averaging the
// prediction over their distribution, which for a linear score ranks the same).
//
// Objective per penalty λ: mean over records of the summed per-class BCE + λ/2 ‖W‖² (bias not
// penalised). For comparison with scikit-learn's LogisticRegression (per class) this is C = 1/(λ n).
// Everything runs in float64 on the CPU: the problem is small and double keeps L-BFGS's line
// search well behaved when λ is tiny.
#include "ecgbench/classification.hpp"
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
    ecgbench::BootstrapMethod bootstrap = ecgbench::BootstrapMethod::Percentile;
    std::int64_t batch_size = 256;
    std::vector<std::string> covariates;  // appended to the features: the covariate-adjusted predictor
    bool use_ecg = true;                  // false: covariates only (what the covariates alone predict)
    bool covariates_at_mean = false;      // covariates_at_test = "mean": fitted with them, predicted without
    std::string select_by = "macro_auroc"; // validation criterion for λ
};

struct Model {
    at::Tensor weight;  // [D, C] float64
    at::Tensor bias;    // [C]
};

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
        s_.bootstrap = p.get_string("bootstrap") == "stratified" ? ecgbench::BootstrapMethod::StratifiedPerLabel
                                                                  : ecgbench::BootstrapMethod::Percentile;
        s_.batch_size = p.get_int("batch_size");
        s_.covariates = p.get_strings("covariates");
        s_.use_ecg = p.get_bool("use_ecg");
        s_.covariates_at_mean = p.get_string("covariates_at_test") == "mean";
        s_.select_by = p.get_string("select_by");
        if (s_.l2_min > s_.l2_max) throw std::invalid_argument("linear_probe: l2_min is larger than l2_max");
        if (!s_.use_ecg && s_.covariates.empty())
            throw std::invalid_argument("linear_probe: use_ecg = false needs at least one entry in `covariates`");
        if (s_.covariates_at_mean && (s_.covariates.empty() || !s_.use_ecg))
            throw std::invalid_argument("linear_probe: covariates_at_test = \"mean\" needs `covariates` and use_ecg = true "
                                        "(the covariates are held constant at prediction: the ECG must score the records)");
    }

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        auto log = [&](const std::string& line) {
            if (ctx.log) ctx.log("linear_probe: " + line);
        };
        ecgbench::require_classification_splits(ctx, "linear_probe");

        log("embedding " + std::to_string(ctx.train.size()) + "/" + std::to_string(ctx.val.size()) + "/" +
            std::to_string(ctx.test.size()) + " records (train/val/test)");
        at::Tensor train_x = features(ctx, ctx.train, false);
        at::Tensor val_x = ctx.val.size() > 0 ? features(ctx, ctx.val, s_.covariates_at_mean) : at::Tensor();
        at::Tensor test_x = features(ctx, ctx.test, s_.covariates_at_mean);

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
        // Selection criterion on validation, as "higher is better".
        const bool by_log_loss = s_.select_by == "log_loss";
        auto criterion = [&](const Model& model) {
            const at::Tensor logits = scores_of(model, val_x);
            if (by_log_loss) return -at::binary_cross_entropy_with_logits(logits, ctx.val.labels.to(at::kDouble)).item<double>();
            return ecgbench::macro_auroc_of(logits, ctx.val.labels);
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

        ecgbench::TaskResult result = ecgbench::classification_result(
            ctx, val_x.defined() ? scores_of(best, val_x) : at::Tensor(), scores_of(best, test_x), {s_.bootstrap_resamples, log}, s_.bootstrap);
        if (!std::isnan(best_val)) {
            if (by_log_loss) {
                result.metrics.push_back({"log_loss", "val", -best_val, {}, {}, ecgbench::Direction::LowerIsBetter});
            } else {
                result.metrics.push_back({"macro_auroc", "val", best_val});
            }
        }
        result.metrics.push_back({"l2", "val", best_l2});
        log("selected l2 " + format(best_l2));
        return result;
    }

private:
    // The embedding, the declared covariates (each with a missing-value indicator; a missing value
    // becomes the train mean, which standardisation then maps to 0), or both side by side. With
    // `held`, every record gets the train mean and the train missing rate (both standardise to 0).
    at::Tensor features(const EvalContext& ctx, const ecgbench::EcgSplit& split, bool held) const {
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
            if (held) {
                const double missing_rate = 1.0 - static_cast<double>(known.numel()) / static_cast<double>(std::max<std::int64_t>(1, train_values.numel()));
                columns.push_back(at::full({values.size(0), 1}, mean, at::kDouble));
                columns.push_back(at::full({values.size(0), 1}, missing_rate, at::kDouble));
                continue;
            }
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
                      ecgbench::param::choice("bootstrap", "percentile", {"percentile", "stratified"},
                                              "how the CI draws test records: percentile (with replacement) or stratified "
                                              "(per label, positives and negatives apart: prevalence kept, never without a positive)"),
                      {"batch_size", ParamType::Int, std::int64_t{256}, "records per embedding batch", 1.0, 65536.0, {}},
                      ecgbench::param::strings("covariates", {},
                                               "covariates appended to the embedding (e.g. age, sex): the covariate-adjusted "
                                               "predictor; missing values get the train mean and an indicator column"),
                      ecgbench::param::flag("use_ecg", true, "false: fit on the covariates alone (needs `covariates`)"),
                      ecgbench::param::choice("covariates_at_test", "observed", {"observed", "mean"},
                                              "observed: predict with each record's covariates; mean: fit with them, predict with "
                                              "them held at the training mean (the confounder-adjusted predictor: ECG weights fitted "
                                              "conditional on the covariates, which do not score)"),
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
