// `finetune`: end-to-end fine-tuning of the task's own encoder copy with a linear head on the
// pooled embedding, through the shared training engine (ecgbench::train: AdamW, linear warm-up then
// cosine decay, gradient clipping), as the fine-tuned mode of the ECG foundation-model benchmark
// (Al-Masud et al. 2025) and of the PTB-XL benchmark (Strodthoff et al. 2020):
//  - `mode = "full"`: every encoder parameter trains, at `encoder_lr_scale` × the head's rate (0.1
//    by default: the benchmark's discriminative rate; 1 = one rate for all);
//  - `mode = "last_k"`: only the encoder's last `blocks` top-level submodules, in registration order
//    (resnet1d: its stages; `ecgbench plugins <encoder>` lists the encoder, the task's log lists the
//    blocks it trains), train at that rate; the earlier ones, and parameters registered on the
//    encoder itself, stay frozen and run in eval mode (their BatchNorm statistics are kept).
// After each epoch the validation macro AUROC is computed; the best epoch's weights (encoder and
// head) are restored at the end and `patience` epochs without improvement stop training early
// (without a validation split every epoch runs). The test split is scored by
// ecgbench::classification_result, as every classification task is.
//
// With `targets` (covariates such as age or hr_bpm) it fine-tunes for regression instead: a linear
// head per target on the pooled embedding, MSE on the targets standardised with the train split's
// mean and standard deviation (records missing a target left out of that target's loss), the best
// epoch chosen on validation MSE; test MAE, RMSE, R² and Pearson r per target in its own units
// (as regression_probe names them), per-record predictions and targets stored.
//
// What it simplifies: multi-label BCE for every dataset (argmax metrics are still reported for
// single-label data), no layer-wise rate decay within the encoder, no LP-FT (linear probe first).
#include "ecgbench/classification.hpp"
#include "ecgbench/metrics.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/task.hpp"
#include "ecgbench/train.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;
using ecgbench::EvalContext;
using ecgbench::Params;

std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}

// Every parameter and buffer of `modules`, cloned: the best epoch's state.
std::vector<at::Tensor> snapshot(const std::vector<nn::Module*>& modules) {
    std::vector<at::Tensor> state;
    for (auto* m : modules) {
        for (const auto& p : m->parameters()) state.push_back(p.detach().clone());
        for (const auto& b : m->buffers()) state.push_back(b.detach().clone());
    }
    return state;
}

void restore(const std::vector<nn::Module*>& modules, const std::vector<at::Tensor>& state) {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (auto* m : modules) {
        for (auto& p : m->parameters()) p.copy_(state.at(i++));
        for (auto& b : m->buffers()) b.copy_(state.at(i++));
    }
}

class FineTune final : public ecgbench::Task {
public:
    explicit FineTune(const Params& p)
        : last_k_(p.get_string("mode") == "last_k"), blocks_(p.get_int("blocks")), epochs_(p.get_int("epochs")),
          batch_size_(p.get_int("batch_size")), learning_rate_(p.get_float("learning_rate")),
          encoder_lr_scale_(p.get_float("encoder_lr_scale")), weight_decay_(p.get_float("weight_decay")),
          grad_clip_(p.get_float("grad_clip_norm")), patience_(p.get_int("patience")),
          bootstrap_resamples_(p.get_int("bootstrap_resamples")), targets_(p.get_strings("targets")) {}

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        auto log = [&](const std::string& line) {
            if (ctx.log) ctx.log("finetune: " + line);
        };
        if (!targets_.empty()) return evaluate_regression(ctx, log);
        ecgbench::require_classification_splits(ctx, "finetune");
        torch::AutoGradMode grad_on(true);  // the host may call evaluate() under NoGradGuard
        torch::manual_seed(ctx.seed);
        const ecgbench::EncoderPtr encoder = ctx.encoder;
        nn::Linear head(encoder->embedding_dim(), static_cast<std::int64_t>(ctx.dataset.classes.size()));
        head->to(ctx.device);
        const std::vector<std::shared_ptr<nn::Module>> frozen = freeze_early_blocks(*encoder, log);

        ecgbench::TrainOptions options;
        options.epochs = epochs_;
        options.batch_size = batch_size_;
        options.learning_rate = learning_rate_;
        options.weight_decay = weight_decay_;
        options.grad_clip_norm = grad_clip_;
        options.device = ctx.device.str();

        auto logits_of = [&](const ecgbench::EcgSplit& split) {
            const at::Tensor z = ecgbench::embed(*encoder, split.signals, 256, split.lead_present);
            torch::NoGradGuard no_grad;
            return head->forward(z.to(ctx.device)).to(at::kCPU);
        };
        const std::vector<nn::Module*> modules{encoder.get(), head.get()};
        std::vector<at::Tensor> best_state;
        double best_val = std::numeric_limits<double>::quiet_NaN();
        std::int64_t best_epoch = 0, since_best = 0;
        ecgbench::TrainHooks hooks;
        if (ctx.val.size() > 0) {
            hooks.on_epoch_end = [&](const ecgbench::EpochSummary& epoch) {
                const double value = ecgbench::macro_auroc_of(logits_of(ctx.val), ctx.val.labels);
                log("epoch " + std::to_string(epoch.epoch) + ": loss " + format(epoch.loss) + ", val macro AUROC " + format(value));
                if (std::isnan(value)) return true;
                if (best_state.empty() || value > best_val) {
                    best_val = value;
                    best_epoch = epoch.epoch;
                    best_state = snapshot(modules);
                    since_best = 0;
                    return true;
                }
                return ++since_best < patience_;
            };
        }
        auto loss = [&](const ecgbench::Batch& b) {
            for (const auto& m : frozen) m->eval();
            const at::Tensor z = encoder->encode({b.signals, b.lead_present, {}}).pooled;
            return ecgbench::Loss(at::binary_cross_entropy_with_logits(head->forward(z), b.labels.to(z.dtype())));
        };
        const auto report = ecgbench::train(std::vector<ecgbench::TrainGroup>{{encoder.get(), encoder_lr_scale_}, {head.get(), 1.0}},
                                            ctx.train, loss, options, hooks);
        if (!best_state.empty()) {
            restore(modules, best_state);
            log("restored epoch " + std::to_string(best_epoch) + " (val macro AUROC " + format(best_val) + ")" +
                (report.stopped_early ? ", stopped early after epoch " + std::to_string(report.epochs.size()) : ""));
        } else {
            best_epoch = static_cast<std::int64_t>(report.epochs.size());
        }
        encoder->eval();
        head->eval();

        ecgbench::TaskResult result = ecgbench::classification_result(
            ctx, ctx.val.size() > 0 ? logits_of(ctx.val) : at::Tensor(), logits_of(ctx.test), {bootstrap_resamples_, log});
        if (!std::isnan(best_val)) result.metrics.push_back({"macro_auroc", "val", best_val});
        result.metrics.push_back({"epochs", "val", static_cast<double>(best_epoch)});
        return result;
    }

private:
    using Log = std::function<void(const std::string&)>;

    // The split's targets as float32 [N, targets] (NaN = missing); throws naming a target the
    // dataset does not declare.
    at::Tensor target_matrix(const EvalContext& ctx, const ecgbench::EcgSplit& split) const {
        std::vector<at::Tensor> columns;
        for (const auto& name : targets_) {
            const auto it = split.covariates.find(name);
            if (it == split.covariates.end())
                throw std::invalid_argument("finetune: dataset '" + ctx.dataset.name + "' has no covariate '" + name + "' (param 'targets')");
            columns.push_back(it->second.to(at::kFloat).reshape({-1, 1}));
        }
        return at::cat(columns, 1);
    }

    // Mean squared error over the present entries of standardised targets (0 when none is present).
    static at::Tensor masked_mse(const at::Tensor& prediction, const at::Tensor& standardised) {
        const at::Tensor present = standardised.isfinite();
        const at::Tensor error = at::where(present, prediction - at::nan_to_num(standardised), at::zeros_like(prediction));
        return error.pow(2).sum() / present.sum().clamp_min(1);
    }

    ecgbench::TaskResult evaluate_regression(const EvalContext& ctx, const Log& log) {
        torch::AutoGradMode grad_on(true);
        torch::manual_seed(ctx.seed);
        const at::Tensor train_y = target_matrix(ctx, ctx.train);
        const at::Tensor present = train_y.isfinite();
        const at::Tensor count = present.sum(0);
        for (std::size_t t = 0; t < targets_.size(); ++t)
            if (count[static_cast<std::int64_t>(t)].item<std::int64_t>() < 2)
                throw std::invalid_argument("finetune: target '" + targets_[t] + "' has fewer than 2 train records with a value");
        const at::Tensor filled = at::nan_to_num(train_y);
        const at::Tensor mean = filled.sum(0) / count;
        const at::Tensor centred = at::where(present, train_y - mean, at::zeros_like(train_y));
        const at::Tensor sd = (centred.pow(2).sum(0) / (count - 1)).sqrt().clamp_min(1e-12);
        auto standardise = [&](const at::Tensor& y) { return (y - mean) / sd; };

        const ecgbench::EncoderPtr encoder = ctx.encoder;
        nn::Linear head(encoder->embedding_dim(), static_cast<std::int64_t>(targets_.size()));
        head->to(ctx.device);
        const std::vector<std::shared_ptr<nn::Module>> frozen = freeze_early_blocks(*encoder, log);
        ecgbench::TrainOptions options;
        options.epochs = epochs_;
        options.batch_size = batch_size_;
        options.learning_rate = learning_rate_;
        options.weight_decay = weight_decay_;
        options.grad_clip_norm = grad_clip_;
        options.device = ctx.device.str();

        auto predict = [&](const ecgbench::EcgSplit& split) {  // standardised, [N, targets] on the CPU
            const at::Tensor z = ecgbench::embed(*encoder, split.signals, 256, split.lead_present);
            torch::NoGradGuard no_grad;
            return head->forward(z.to(ctx.device)).to(at::kCPU);
        };
        const std::vector<nn::Module*> modules{encoder.get(), head.get()};
        std::vector<at::Tensor> best_state;
        double best_val = std::numeric_limits<double>::quiet_NaN();
        std::int64_t best_epoch = 0, since_best = 0;
        ecgbench::TrainHooks hooks;
        const at::Tensor val_y = ctx.val.size() > 0 ? standardise(target_matrix(ctx, ctx.val)) : at::Tensor();
        if (ctx.val.size() > 0) {
            hooks.on_epoch_end = [&](const ecgbench::EpochSummary& epoch) {
                const double value = masked_mse(predict(ctx.val), val_y).item<double>();
                log("epoch " + std::to_string(epoch.epoch) + ": loss " + format(epoch.loss) + ", val MSE " + format(value) + " (standardised)");
                if (best_state.empty() || value < best_val) {
                    best_val = value;
                    best_epoch = epoch.epoch;
                    best_state = snapshot(modules);
                    since_best = 0;
                    return true;
                }
                return ++since_best < patience_;
            };
        }
        auto loss = [&](const ecgbench::Batch& b) {
            for (const auto& m : frozen) m->eval();
            const at::Tensor z = encoder->encode({b.signals, b.lead_present, {}}).pooled;
            std::vector<at::Tensor> columns;
            for (const auto& name : targets_) columns.push_back(b.covariates.at(name).to(z.dtype()).reshape({-1, 1}));
            const at::Tensor y = standardise(at::cat(columns, 1).to(at::kCPU)).to(z.device());
            return ecgbench::Loss(masked_mse(head->forward(z), y));
        };
        const auto report = ecgbench::train(std::vector<ecgbench::TrainGroup>{{encoder.get(), encoder_lr_scale_}, {head.get(), 1.0}},
                                            ctx.train, loss, options, hooks);
        if (!best_state.empty()) {
            restore(modules, best_state);
            log("restored epoch " + std::to_string(best_epoch) + " (val MSE " + format(best_val) + ", standardised)" +
                (report.stopped_early ? ", stopped early after epoch " + std::to_string(report.epochs.size()) : ""));
        } else {
            best_epoch = static_cast<std::int64_t>(report.epochs.size());
        }
        encoder->eval();
        head->eval();

        const at::Tensor prediction = predict(ctx.test) * sd + mean;
        const at::Tensor truth = target_matrix(ctx, ctx.test);
        ecgbench::TaskResult result;
        for (std::size_t t = 0; t < targets_.size(); ++t) {
            const auto k = static_cast<std::int64_t>(t);
            const at::Tensor rows = truth.select(1, k).isfinite().nonzero().flatten();
            const at::Tensor p = prediction.select(1, k).index_select(0, rows).to(at::kDouble).contiguous();
            const at::Tensor y = truth.select(1, k).index_select(0, rows).to(at::kDouble).contiguous();
            const std::vector<double> pv(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
            const std::vector<double> yv(y.data_ptr<double>(), y.data_ptr<double>() + y.numel());
            if (yv.empty()) throw std::invalid_argument("finetune: no test record has target '" + targets_[t] + "'");
            const auto m = ecgbench::regression_metrics(pv, yv);
            const std::string& name = targets_[t];
            result.metrics.push_back({"mae/" + name, "test", m.mae, {}, {}, ecgbench::Direction::LowerIsBetter});
            result.metrics.push_back({"rmse/" + name, "test", m.rmse, {}, {}, ecgbench::Direction::LowerIsBetter});
            if (!std::isnan(m.r2)) result.metrics.push_back({"r2/" + name, "test", m.r2});
            if (!std::isnan(m.pearson_r)) result.metrics.push_back({"pearson_r/" + name, "test", m.pearson_r});
            result.metrics.push_back({"n/" + name, "test", static_cast<double>(yv.size())});
            log(name + ": test MAE " + format(m.mae) + ", R² " + format(m.r2) + " over " + std::to_string(yv.size()) + " records");
        }
        if (!std::isnan(best_val)) result.metrics.push_back({"mse_standardised", "val", best_val, {}, {}, ecgbench::Direction::LowerIsBetter});
        result.metrics.push_back({"epochs", "val", static_cast<double>(best_epoch)});
        result.outputs = {{"test", "predictions", targets_, ctx.test.record_ids, prediction.to(at::kFloat)},
                          {"test", "targets", targets_, ctx.test.record_ids, truth}};
        return result;
    }

    // mode = last_k: every parameter outside the encoder's last `blocks_` top-level submodules stops
    // requiring gradients; returns the frozen submodules (kept in eval mode during training).
    std::vector<std::shared_ptr<nn::Module>> freeze_early_blocks(ecgbench::Encoder& encoder,
                                                                  const std::function<void(const std::string&)>& log) const {
        if (!last_k_) return {};
        const auto children = encoder.named_children();
        if (blocks_ > static_cast<std::int64_t>(children.size())) {
            std::string names;
            for (const auto& child : children) names += (names.empty() ? "" : ", ") + child.key();
            throw std::invalid_argument("finetune: param 'blocks' (" + std::to_string(blocks_) + ") exceeds the encoder's " +
                                        std::to_string(children.size()) + " top-level blocks (" + names + ")");
        }
        for (auto& p : encoder.parameters(/*recurse=*/false)) p.set_requires_grad(false);
        std::vector<std::shared_ptr<nn::Module>> frozen;
        std::string trained;
        const auto first_trained = static_cast<std::int64_t>(children.size()) - blocks_;
        for (std::int64_t i = 0; i < static_cast<std::int64_t>(children.size()); ++i) {
            const auto& child = children[static_cast<std::size_t>(i)];
            if (i >= first_trained) {
                trained += (trained.empty() ? "" : ", ") + child.key();
                continue;
            }
            for (auto& p : child.value()->parameters()) p.set_requires_grad(false);
            frozen.push_back(child.value());
        }
        if (log) log("training the encoder's last " + std::to_string(blocks_) + " blocks: " + trained);
        return frozen;
    }

    bool last_k_;
    std::int64_t blocks_, epochs_, batch_size_;
    double learning_rate_, encoder_lr_scale_, weight_decay_, grad_clip_;
    std::int64_t patience_, bootstrap_resamples_;
    std::vector<std::string> targets_;  ///< regression targets (covariates); empty = classification
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"finetune", ecgbench::PluginKind::Task, "1.1.0",
                  "end-to-end fine-tuning (full or last k blocks, discriminative encoder rate) for classification or regression `targets`, early stopping on validation",
                  {
                      param::choice("mode", "full", {"full", "last_k"}, "train the whole encoder, or only its last `blocks` top-level blocks"),
                      param::integer("blocks", 1, "last_k: how many of the encoder's top-level blocks train").between(1, 1000),
                      param::integer("epochs", 20, "most epochs over the train split").between(1, 10000),
                      param::integer("batch_size", 32, "records per step").between(1, 65536),
                      param::real("learning_rate", 1e-3, "peak AdamW rate of the head (warm-up 5 %, then cosine)").between(1e-7, 1.0),
                      param::real("encoder_lr_scale", 0.1, "the encoder's rate as a share of the head's (discriminative fine-tuning)")
                          .between(1e-4, 10.0),
                      param::real("weight_decay", 1e-2, "AdamW decoupled weight decay").between(0.0, 10.0),
                      param::real("grad_clip_norm", 1.0, "clip the global gradient norm (0 = off)").between(0.0, 1e6),
                      param::integer("patience", 5, "epochs without a better val macro AUROC before stopping").between(1, 10000),
                      param::integer("bootstrap_resamples", 200, "bootstrap draws for the test macro AUROC 95% CI (0 = no CI)")
                          .between(0, 100000),
                      param::strings("targets", {},
                                     "covariates to regress (e.g. age, hr_bpm): fine-tune for regression (MSE on standardised "
                                     "targets, val MSE for early stopping) instead of classification"),
                  },
                  /*needs=*/{"labels"}};
    d.make_task = [](const Params& p) { return std::make_unique<FineTune>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
