// `regression_probe`: continuous targets from frozen embeddings — age and sex in PTB-XL/CinC, heart
// rate and PR/QRS/QT intervals in LUDB and the synthetic cohort, the cohort's risk score: any
// covariate the evaluation dataset declares, named in `targets`.
//
// Embeds train/val/test once, standardises embeddings (and each target) with train statistics, and
// fits per target either
//   ridge: closed-form ridge regression, w = (XᵀX + α·n·I)⁻¹ Xᵀy on centred data, α from a log grid
//          chosen on validation MSE (largest α on ties), or
//   mlp:   Linear(D→hidden)–ReLU–Linear(hidden→1), full-batch Adam on the MSE, seeded, the epoch
//          with the lowest validation MSE kept (early stopping with `patience`).
// Records whose target is missing (NaN) are left out of that target's fit and metrics; how many
// test records each target scored is reported (`n/<target>`). Metrics on test, per target: MAE,
// RMSE (lower is better), R², Pearson r (ecgbench/metrics.hpp: sklearn's and scipy's definitions),
// in the target's own units. Per-record predictions and targets are stored as outputs.
#include "ecgbench/metrics.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/task.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::EvalContext;
using ecgbench::Metric;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}

std::vector<double> to_doubles(const at::Tensor& t) {
    const at::Tensor c = t.to(at::kDouble).contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

/// Rows of one split that have the target, with embeddings and (standardised) target values.
struct Rows {
    at::Tensor index;  // int64 [m] rows of the split
    at::Tensor x;      // float64 [m, D]
    at::Tensor y;      // float64 [m]
    std::int64_t size() const { return index.size(0); }
};

Rows rows_with_target(const at::Tensor& embeddings, const at::Tensor& target) {
    const at::Tensor y = target.to(at::kDouble);
    const at::Tensor index = at::nonzero(at::isfinite(y)).squeeze(1);
    return {index, embeddings.index_select(0, index), y.index_select(0, index)};
}

double mse(const at::Tensor& prediction, const at::Tensor& y) { return (prediction - y).pow(2).mean().item<double>(); }

class RegressionProbe final : public ecgbench::Task {
public:
    explicit RegressionProbe(const ecgbench::Params& p)
        : targets_(p.get_strings("targets")), head_(p.get_string("head")), alpha_min_(p.get_float("alpha_min")),
          alpha_max_(p.get_float("alpha_max")), alpha_steps_(p.get_int("alpha_steps")), hidden_(p.get_int("hidden")),
          epochs_(p.get_int("epochs")), patience_(p.get_int("patience")), learning_rate_(p.get_float("learning_rate")),
          batch_size_(p.get_int("batch_size")) {
        if (targets_.empty()) throw std::invalid_argument("regression_probe: `targets` is empty; name at least one covariate");
        if (alpha_min_ > alpha_max_) throw std::invalid_argument("regression_probe: alpha_min is larger than alpha_max");
    }

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        auto log = [&](const std::string& line) {
            if (ctx.log) ctx.log("regression_probe: " + line);
        };
        for (const auto& target : targets_) {
            for (const auto* split : {&ctx.train, &ctx.val, &ctx.test}) {
                if (!split->covariates.count(target)) {
                    std::string have;
                    for (const auto& [name, values] : split->covariates) have += (have.empty() ? "" : ", ") + name;
                    throw std::invalid_argument("regression_probe: dataset '" + ctx.dataset.name + "' has no covariate '" + target +
                                                "' (it has: " + (have.empty() ? "none" : have) + ")");
                }
            }
        }
        const at::Tensor train_x = embed(ctx, ctx.train), test_x = embed(ctx, ctx.test);
        const at::Tensor val_x = ctx.val.size() > 0 ? embed(ctx, ctx.val) : at::Tensor();
        const at::Tensor mean = train_x.mean(0, true), sd = train_x.std(0, /*unbiased=*/false, true).clamp_min(1e-8);

        ecgbench::TaskResult result;
        ecgbench::RecordOutputs predictions{"test", "predictions", targets_, ctx.test.record_ids,
                                            at::full({ctx.test.size(), static_cast<std::int64_t>(targets_.size())}, kNaN, at::kFloat)};
        ecgbench::RecordOutputs truth = predictions;
        truth.kind = "targets";
        truth.values = predictions.values.clone();
        if (predictions.record_ids.empty())
            for (std::int64_t i = 0; i < ctx.test.size(); ++i) predictions.record_ids.push_back("#" + std::to_string(i));
        truth.record_ids = predictions.record_ids;

        for (std::size_t t = 0; t < targets_.size(); ++t) {
            const std::string& name = targets_[t];
            Rows train = rows_with_target((train_x - mean) / sd, ctx.train.covariates.at(name));
            Rows test = rows_with_target((test_x - mean) / sd, ctx.test.covariates.at(name));
            Rows val = val_x.defined() ? rows_with_target((val_x - mean) / sd, ctx.val.covariates.at(name)) : Rows{};
            if (train.size() < 2 || test.size() < 1) {
                throw std::invalid_argument("regression_probe: target '" + name + "' has " + std::to_string(train.size()) +
                                            " train and " + std::to_string(test.size()) + " test records with values");
            }
            // Standardise the target on train so one α grid and one learning rate fit any unit.
            const double y_mean = train.y.mean().item<double>();
            const double y_sd = std::max(train.y.std(/*unbiased=*/false).item<double>(), 1e-12);
            for (Rows* rows : {&train, &val, &test})
                if (rows->index.defined()) rows->y = (rows->y - y_mean) / y_sd;

            const Predictor standard_prediction = head_ == "ridge" ? ridge(train, val, log, name) : mlp(train, val, ctx.seed, log, name);
            const at::Tensor prediction = standard_prediction(test.x) * y_sd + y_mean;
            const at::Tensor target = test.y * y_sd + y_mean;
            const auto m = ecgbench::regression_metrics(to_doubles(prediction), to_doubles(target));
            result.metrics.push_back({"mae/" + name, "test", m.mae, {}, {}, ecgbench::Direction::LowerIsBetter});
            result.metrics.push_back({"rmse/" + name, "test", m.rmse, {}, {}, ecgbench::Direction::LowerIsBetter});
            if (!std::isnan(m.r2)) result.metrics.push_back({"r2/" + name, "test", m.r2});
            if (!std::isnan(m.pearson_r)) result.metrics.push_back({"pearson_r/" + name, "test", m.pearson_r});
            result.metrics.push_back({"n/" + name, "test", static_cast<double>(test.size())});
            predictions.values.select(1, static_cast<std::int64_t>(t)).index_put_({test.index}, prediction.to(at::kFloat));
            truth.values.select(1, static_cast<std::int64_t>(t)).index_put_({test.index}, target.to(at::kFloat));
            log(name + ": test MAE " + format(m.mae) + ", R² " + format(m.r2) + " over " + std::to_string(test.size()) + " records");
        }
        result.outputs = {predictions, truth};
        return result;
    }

private:
    using Predictor = std::function<at::Tensor(const at::Tensor&)>;

    // Ridge on centred data for each α of the grid; the α with the lowest validation MSE.
    Predictor ridge(const Rows& train, const Rows& val, const std::function<void(const std::string&)>& log,
                    const std::string& name) const {
        const at::Tensor x_mean = train.x.mean(0, true);
        const at::Tensor xc = train.x - x_mean;
        const double y_mean = train.y.mean().item<double>();
        const at::Tensor gram = xc.t().mm(xc), moment = xc.t().mv(train.y - y_mean);
        const auto n = static_cast<double>(train.size());
        auto fit = [&](double alpha) {
            const at::Tensor regulariser = at::eye(gram.size(0), gram.options()) * (alpha * n);
            const at::Tensor w = at::linalg_solve(gram + regulariser, moment.unsqueeze(1)).squeeze(1);
            return Predictor([w, x_mean, y_mean](const at::Tensor& x) { return (x - x_mean).mv(w) + y_mean; });
        };
        double best_alpha = std::sqrt(alpha_min_ * alpha_max_), best = std::numeric_limits<double>::infinity();
        if (val.index.defined() && val.size() > 0) {
            for (std::int64_t k = alpha_steps_ - 1; k >= 0; --k) {  // largest α first: it wins ties
                const double f = alpha_steps_ == 1 ? 0.0 : static_cast<double>(k) / static_cast<double>(alpha_steps_ - 1);
                const double alpha = std::exp(std::log(alpha_min_) + f * (std::log(alpha_max_) - std::log(alpha_min_)));
                const double error = mse(fit(alpha)(val.x), val.y);
                if (error < best) {
                    best = error;
                    best_alpha = alpha;
                }
            }
        }
        log(name + ": ridge α " + format(best_alpha) + " (val MSE " + format(best) + ", standardised)");
        return fit(best_alpha);
    }

    // A one-hidden-layer MLP; full batch of at most batch_size rows per step, the best-val epoch kept.
    Predictor mlp(const Rows& train, const Rows& val, std::uint64_t seed, const std::function<void(const std::string&)>& log,
                  const std::string& name) const {
        torch::AutoGradMode grad_on(true);
        torch::manual_seed(seed);
        auto hidden = torch::nn::Linear(train.x.size(1), hidden_);
        auto output = torch::nn::Linear(hidden_, 1);
        hidden->to(at::kDouble);
        output->to(at::kDouble);
        // By value: the returned predictor outlives this frame (the holders share the modules).
        auto forward = [hidden, output](const at::Tensor& x) mutable { return output->forward(hidden->forward(x).relu()).squeeze(1); };
        std::vector<at::Tensor> parameters = hidden->parameters();
        for (const auto& p : output->parameters()) parameters.push_back(p);
        torch::optim::Adam optimiser(parameters, torch::optim::AdamOptions(learning_rate_).weight_decay(1e-4));
        const bool has_val = val.index.defined() && val.size() > 0;
        std::vector<at::Tensor> best_state;
        double best = std::numeric_limits<double>::infinity();
        std::int64_t best_epoch = 0, since_best = 0;
        for (std::int64_t epoch = 1; epoch <= epochs_; ++epoch) {
            const at::Tensor order = at::randperm(train.size(), at::kLong);
            for (std::int64_t start = 0; start < train.size(); start += batch_size_) {
                const at::Tensor rows = order.slice(0, start, std::min(start + batch_size_, train.size()));
                optimiser.zero_grad();
                const at::Tensor loss = (forward(train.x.index_select(0, rows)) - train.y.index_select(0, rows)).pow(2).mean();
                loss.backward();
                optimiser.step();
            }
            torch::NoGradGuard no_grad;
            const double error = has_val ? mse(forward(val.x), val.y) : mse(forward(train.x), train.y);
            if (error < best) {
                best = error;
                best_epoch = epoch;
                since_best = 0;
                best_state.clear();
                for (const auto& p : parameters) best_state.push_back(p.detach().clone());
            } else if (++since_best >= patience_) {
                break;
            }
        }
        {
            torch::NoGradGuard no_grad;
            for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(best_state[i]);
        }
        log(name + ": mlp best epoch " + std::to_string(best_epoch) + " (" + (has_val ? "val" : "train") + " MSE " + format(best) +
            ", standardised)");
        return [forward](const at::Tensor& x) mutable {
            torch::NoGradGuard no_grad;
            return forward(x);
        };
    }

    at::Tensor embed(const EvalContext& ctx, const ecgbench::EcgSplit& split) const {
        at::Tensor z = ecgbench::embed(*ctx.encoder, split.signals, 256, split.lead_present).to(at::kDouble);
        if (!at::isfinite(z).all().item<bool>()) throw std::runtime_error("regression_probe: encoder produced non-finite embeddings");
        return z;
    }

    std::vector<std::string> targets_;
    std::string head_;
    double alpha_min_, alpha_max_;
    std::int64_t alpha_steps_, hidden_, epochs_, patience_;
    double learning_rate_;
    std::int64_t batch_size_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"regression_probe",
                  ecgbench::PluginKind::Task,
                  "1.0.0",
                  "frozen embeddings → ridge (α by val MSE) or MLP head per continuous covariate; test MAE, RMSE, R², Pearson r",
                  {param::strings("targets", {}, "covariates to predict (e.g. age, hr_bpm, qt_ms, risk_score); records without a value are left out"),
                   param::choice("head", "ridge", {"ridge", "mlp"}, "ridge: closed form, α on a log grid; mlp: one hidden layer, early stopping"),
                   param::real("alpha_min", 1e-4, "smallest ridge α (× n) on the log grid").between(1e-10, 1e6),
                   param::real("alpha_max", 10.0, "largest ridge α (× n)").between(1e-10, 1e6),
                   param::integer("alpha_steps", 9, "ridge grid points (log-spaced, inclusive)").between(1, 100),
                   param::integer("hidden", 256, "mlp: hidden width").between(1, 65536),
                   param::integer("epochs", 200, "mlp: maximum epochs").between(1, 100000),
                   param::integer("patience", 20, "mlp: epochs without a better validation MSE before stopping").between(1, 100000),
                   param::real("learning_rate", 1e-3, "mlp: Adam learning rate").between(1e-7, 1),
                   param::integer("batch_size", 512, "mlp: records per step").between(1, 1 << 20)}};
    d.make_task = [](const ecgbench::Params& p) { return std::make_unique<RegressionProbe>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
