// `beat_classification`: AAMI N/S/V/F/Q heartbeat classification as the MIT-BIH literature reports
// it (de Chazal, O'Dwyer & Reilly, IEEE TBME 2004; AAMI EC57): the `mitbih` dataset's beats in the
// inter-patient DS1 (train) / DS2 (test) split, a classifier on the frozen encoder's embedding of
// each beat, optionally joined by the RR-interval features de Chazal uses, class-balanced loss
// weighting because N dominates, and per-class sensitivity (Se) and positive predictive value (+P),
// macro F1 and overall accuracy from the argmax class, plus the shared classification metrics
// (macro AUROC with a bootstrap CI, per class, …) through ecgbench::classification_result.
//
// The head: multinomial (softmax) logistic regression, full batch, L-BFGS in float64 from zero
// weights, L2 penalty λ from a log grid chosen on validation macro F1 of the argmax class (the
// headline metric; ties keep the larger λ). Chosen over a small MLP because the question is what the
// frozen embedding separates linearly (as a linear probe asks), because the fit is convex and
// deterministic (no seed or early-stopping variance between methods), and because de Chazal's own
// classifier is linear (a linear discriminant). Class weighting `balanced`: a beat of class k
// weighs n / (K · n_k) over the K classes present in train (scikit-learn's class_weight="balanced").
//
// RR features (`rr_features`, default on): rr_prev_ms, rr_next_ms, their ratio (prematurity), and
// each over the average RR of its recording (the subject's mean rr_prev in the split: de Chazal's
// average RR, as a normaliser), each with a missing indicator (NaN at a record's first/last beat:
// the train mean stands in).
// What it simplifies: de Chazal's feature set also has the local-average RR (10 beats) and
// morphology intervals and amplitudes (here the embedding stands in for morphology), and a linear
// discriminant instead of logistic regression.
#include "ecgbench/classification.hpp"
#include "ecgbench/metrics.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/task.hpp"

#include <ATen/ATen.h>
#include <torch/optim/lbfgs.h>
#include <torch/types.h>
#include <torch/utils.h>

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
using ecgbench::Params;
namespace param = ecgbench::param;

constexpr const char* kTask = "beat_classification";

struct Settings {
    double l2_min = 1e-4, l2_max = 1.0;
    std::int64_t l2_steps = 5;
    std::int64_t max_iter = 200;
    bool use_ecg = true;
    bool rr_features = true;
    bool balanced = true;
    std::int64_t bootstrap_resamples = 200;
    std::int64_t batch_size = 256;
};

struct Model {
    at::Tensor weight;  // [D, C] float64
    at::Tensor bias;    // [C]
    at::Tensor logits(const at::Tensor& x) const { return at::addmm(bias, x, weight); }
};

std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}

/// Class index of each row of a one-hot label table; throws when a row has no single positive.
at::Tensor class_indices(const ecgbench::EcgSplit& split, const std::string& split_name) {
    const at::Tensor positives = (split.labels >= 0.5f).sum(1);
    if (!positives.eq(1).all().item<bool>())
        throw std::invalid_argument(std::string(kTask) + ": every " + split_name +
                                    " beat needs exactly one class (one-hot labels, e.g. the mitbih dataset's AAMI classes)");
    return split.labels.argmax(1);
}

std::vector<int> to_ints(const at::Tensor& t) {
    const at::Tensor c = t.to(at::kInt).contiguous();
    return {c.data_ptr<int>(), c.data_ptr<int>() + c.numel()};
}

/// Class-weighted softmax cross-entropy + λ/2 ‖W‖² by full-batch L-BFGS from zero weights.
Model fit(const at::Tensor& x, const at::Tensor& y, const at::Tensor& class_weight, double l2, std::int64_t max_iter) {
    torch::AutoGradMode grad_on(true);  // the host may call evaluate() under NoGradGuard
    const std::int64_t classes = class_weight.size(0);
    at::Tensor weight = at::zeros({x.size(1), classes}, at::kDouble).set_requires_grad(true);
    at::Tensor bias = at::zeros({classes}, at::kDouble).set_requires_grad(true);
    const at::Tensor row_weight = class_weight.index_select(0, y);
    const double total = row_weight.sum().item<double>();
    torch::optim::LBFGS optimiser({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                      .max_iter(max_iter)
                                                      .max_eval(max_iter * 5 / 4 + 1)
                                                      .tolerance_grad(1e-7)
                                                      .tolerance_change(1e-10)
                                                      .history_size(10)
                                                      .line_search_fn("strong_wolfe"));
    auto closure = [&]() -> at::Tensor {
        optimiser.zero_grad();
        const at::Tensor nll = -at::log_softmax(at::addmm(bias, x, weight), 1).gather(1, y.unsqueeze(1)).squeeze(1);
        at::Tensor loss = (nll * row_weight).sum() / total + 0.5 * l2 * weight.pow(2).sum();
        loss.backward();
        return loss;
    };
    optimiser.step(closure);
    return {weight.detach(), bias.detach()};
}

class BeatClassification final : public ecgbench::Task {
public:
    explicit BeatClassification(const Params& p) {
        s_.l2_min = p.get_float("l2_min");
        s_.l2_max = p.get_float("l2_max");
        s_.l2_steps = p.get_int("l2_steps");
        s_.max_iter = p.get_int("max_iter");
        s_.use_ecg = p.get_bool("use_ecg");
        s_.rr_features = p.get_bool("rr_features");
        s_.balanced = p.get_string("class_weighting") == "balanced";
        s_.bootstrap_resamples = p.get_int("bootstrap_resamples");
        s_.batch_size = p.get_int("batch_size");
        if (s_.l2_min > s_.l2_max) throw std::invalid_argument(std::string(kTask) + ": `l2_min` is larger than `l2_max`");
        if (!s_.use_ecg && !s_.rr_features)
            throw std::invalid_argument(std::string(kTask) + ": `use_ecg` = false needs `rr_features` = true (no features left)");
    }

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        auto log = [&](const std::string& line) {
            if (ctx.log) ctx.log(std::string(kTask) + ": " + line);
        };
        ecgbench::require_classification_splits(ctx, kTask);
        const auto classes = static_cast<std::int64_t>(ctx.dataset.classes.size());
        const at::Tensor train_y = class_indices(ctx.train, "train");
        const at::Tensor val_y = ctx.val.size() > 0 ? class_indices(ctx.val, "val") : at::Tensor();
        class_indices(ctx.test, "test");  // checks the test labels are one-hot too

        log("features of " + std::to_string(ctx.train.size()) + "/" + std::to_string(ctx.val.size()) + "/" +
            std::to_string(ctx.test.size()) + " beats (train/val/test)");
        at::Tensor train_x = features(ctx, ctx.train), test_x = features(ctx, ctx.test);
        at::Tensor val_x = ctx.val.size() > 0 ? features(ctx, ctx.val) : at::Tensor();
        const at::Tensor mean = train_x.mean(0, true), sd = train_x.std(0, /*unbiased=*/false, true).clamp_min(1e-8);
        auto standardise = [&](const at::Tensor& t) { return t.defined() ? ((t - mean) / sd).contiguous() : t; };
        train_x = standardise(train_x);
        val_x = standardise(val_x);
        test_x = standardise(test_x);

        const at::Tensor class_weight = weights(train_y, classes);
        std::string weight_line;
        for (std::int64_t k = 0; k < classes; ++k)
            weight_line += ctx.dataset.classes[static_cast<std::size_t>(k)] + " " + format(class_weight[k].item<double>()) + " ";
        log("class weights " + weight_line);

        std::vector<double> grid;  // largest penalty first: on ties the simpler model wins
        for (std::int64_t k = s_.l2_steps - 1; k >= 0; --k) {
            const double f = s_.l2_steps == 1 ? 0.0 : static_cast<double>(k) / static_cast<double>(s_.l2_steps - 1);
            grid.push_back(std::exp(std::log(s_.l2_min) + f * (std::log(s_.l2_max) - std::log(s_.l2_min))));
        }
        Model best;
        double best_f1 = -std::numeric_limits<double>::infinity(), best_l2 = grid[grid.size() / 2];
        for (const double l2 : grid) {
            Model model = fit(train_x, train_y, class_weight, l2, s_.max_iter);
            if (!val_x.defined()) continue;
            const double f1 = macro_f1(model, val_x, val_y, classes);
            log("l2 " + format(l2) + ": val macro F1 " + format(f1));
            if (!std::isnan(f1) && f1 > best_f1) {
                best_f1 = f1;
                best_l2 = l2;
                best = model;
            }
        }
        if (!best.weight.defined()) {
            log("no validation beats: using l2 " + format(best_l2) + " unselected");
            best = fit(train_x, train_y, class_weight, best_l2, s_.max_iter);
            best_f1 = std::numeric_limits<double>::quiet_NaN();
        }
        // log p(class | beat): monotone in each class's probability, so per-class AUROC ranks by it.
        auto scores = [&](const at::Tensor& x) { return at::log_softmax(best.logits(x), 1); };
        ecgbench::TaskResult result = ecgbench::classification_result(ctx, val_x.defined() ? scores(val_x) : at::Tensor(), scores(test_x),
                                                                      {s_.bootstrap_resamples, log});
        if (!std::isnan(best_f1)) result.metrics.push_back({"macro_f1_argmax", "val", best_f1});
        result.metrics.push_back({"l2", "val", best_l2});
        for (const auto& m : result.metrics)
            if (m.name == "macro_f1_argmax" && m.split == "test") log("test macro F1 " + format(m.value) + " (l2 " + format(best_l2) + ")");
        return result;
    }

private:
    // balanced: n / (K · n_k) for the K classes present in train (0 for an absent class); else 1.
    at::Tensor weights(const at::Tensor& y, std::int64_t classes) const {
        const at::Tensor counts = at::bincount(y, {}, classes).to(at::kDouble);
        if (!s_.balanced) return at::ones({classes}, at::kDouble);
        const double present = counts.gt(0).sum().item<double>();
        return at::where(counts.gt(0), static_cast<double>(y.size(0)) / (present * counts.clamp_min(1)), at::zeros_like(counts));
    }

    static double macro_f1(const Model& model, const at::Tensor& x, const at::Tensor& y, std::int64_t classes) {
        return ecgbench::confusion_matrix(to_ints(model.logits(x).argmax(1)), to_ints(y), static_cast<int>(classes)).macro_f1();
    }

    // The embedding and/or the RR features (rr_prev, rr_next, their ratio, both over the recording's
    // average RR), each RR column with a
    // missing-value indicator; a missing value takes the train mean, which standardisation maps to 0.
    at::Tensor features(const EvalContext& ctx, const ecgbench::EcgSplit& split) const {
        std::vector<at::Tensor> columns;
        if (s_.use_ecg) {
            at::Tensor z = ecgbench::embed(*ctx.encoder, split.signals, s_.batch_size, split.lead_present).to(at::kDouble);
            if (z.dim() != 2 || z.size(0) != split.size())
                throw std::runtime_error(std::string(kTask) + ": the encoder returned embeddings of an unexpected shape");
            if (!at::isfinite(z).all().item<bool>()) throw std::runtime_error(std::string(kTask) + ": the encoder produced non-finite embeddings");
            columns.push_back(z);
        }
        if (s_.rr_features) {
            auto covariate = [&](const ecgbench::EcgSplit& s, const char* name) {
                const auto it = s.covariates.find(name);
                if (it == s.covariates.end())
                    throw std::invalid_argument(std::string(kTask) + ": `rr_features` needs the covariate '" + name + "', which dataset '" +
                                                ctx.dataset.name + "' lacks (mitbih and the `beats` step provide it; or set rr_features = false)");
                return it->second.to(at::kDouble);
            };
            auto rr = [&](const ecgbench::EcgSplit& s) {
                const at::Tensor prev = covariate(s, "rr_prev_ms"), next = covariate(s, "rr_next_ms");
                const at::Tensor average = subject_mean(prev, s.subjects);
                return std::vector<at::Tensor>{prev, next, prev / next, prev / average, next / average};
            };
            const auto train_rr = rr(ctx.train), rows = rr(split);
            for (std::size_t c = 0; c < rows.size(); ++c) {
                const at::Tensor known = train_rr[c].masked_select(at::isfinite(train_rr[c]));
                const double fill = known.numel() > 0 ? known.mean().item<double>() : 0.0;
                const at::Tensor missing = at::isfinite(rows[c]).logical_not();
                columns.push_back(at::where(missing, at::full_like(rows[c], fill), rows[c]).unsqueeze(1));
                columns.push_back(missing.to(at::kDouble).unsqueeze(1));
            }
        }
        return at::cat(columns, 1);
    }

    // Each row's subject's mean of `values` over the split's finite entries (NaN when it has none):
    // de Chazal's average RR of the recording (mitbih: one subject per record).
    static at::Tensor subject_mean(const at::Tensor& values, const at::Tensor& subjects) {
        if (!subjects.defined() || subjects.numel() != values.numel()) return at::full_like(values, std::nan(""));
        const at::Tensor finite = at::isfinite(values), ids = subjects.to(at::kLong);
        const auto [unique, inverse] = at::_unique(ids, /*sorted=*/true, /*return_inverse=*/true);
        at::Tensor sums = at::zeros({unique.size(0)}, at::kDouble), counts = at::zeros({unique.size(0)}, at::kDouble);
        sums.index_add_(0, inverse, at::where(finite, values, at::zeros_like(values)));
        counts.index_add_(0, inverse, finite.to(at::kDouble));
        return (sums / counts).index_select(0, inverse);
    }

    Settings s_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {kTask, ecgbench::PluginKind::Task, "1.0.0",
                  "AAMI N/S/V/F/Q beats (de Chazal 2004): softmax regression on frozen embeddings + RR features, class-balanced; "
                  "per-class Se/+P, macro F1, accuracy, macro AUROC",
                  {
                      param::real("l2_min", 1e-4, "smallest L2 penalty on the log grid").between(1e-8, 1e4),
                      param::real("l2_max", 1.0, "largest L2 penalty on the log grid").between(1e-8, 1e4),
                      param::integer("l2_steps", 5, "grid points (log-spaced, inclusive); chosen on val macro F1").between(1, 50),
                      param::integer("max_iter", 200, "L-BFGS iterations per fit").between(1, 10000),
                      param::flag("use_ecg", true, "use the frozen encoder's embedding (false: RR features alone, a baseline)"),
                      param::flag("rr_features", true,
                                  "append de Chazal's RR features: rr_prev_ms, rr_next_ms, their ratio, both over the recording's average RR "
                                  "(missing indicators)"),
                      param::choice("class_weighting", "balanced", {"balanced", "none"},
                                    "loss weight per class: balanced = n / (K·n_k) over the K classes in train (N dominates), none = 1"),
                      param::integer("bootstrap_resamples", 200, "bootstrap draws for the test macro AUROC 95% CI (0 = no CI)")
                          .between(0, 100000),
                      param::integer("batch_size", 256, "beats per embedding batch").between(1, 65536),
                  },
                  /*needs=*/{"labels"}};
    d.make_task = [](const Params& p) { return std::make_unique<BeatClassification>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
