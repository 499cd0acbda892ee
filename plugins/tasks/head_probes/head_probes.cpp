// Trained heads on a frozen encoder, the two probes beside linear_probe:
//  - `mlp_probe`: Linear(D→hidden)–ReLU–Dropout–Linear(hidden→classes) on the pooled embedding;
//  - `attention_probe`: attention pooling over the encoder's tokens — one learnable query attends
//    (multi-head) over every token, then LayerNorm and Linear(D→classes) — the "frozen" mode of the
//    ECG foundation-model benchmark (Al-Masud et al. 2025), where a linear probe on a mean-pooled
//    embedding would undersell token encoders. Needs an encoder that provides "tokens".
// The encoder is never updated: its outputs are computed once per split (eval mode, no gradients),
// standardised per feature with train statistics, and only the head is trained — AdamW on the
// multi-label BCE over the classes, shuffled mini-batches, early stopping on the validation macro
// AUROC (patience in epochs) with the best epoch's weights restored. The selected head is scored by
// ecgbench::classification_result, exactly as linear_probe's model is.
//
// What it simplifies: one hyper-parameter setting per cell (a sweep is several [[evaluation]]s or
// `--set` runs, each its own cell), a constant learning rate, no class weighting.
#include "ecgbench/classification.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/task.hpp"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
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

enum class HeadKind { Mlp, Attention };

struct Settings {
    std::int64_t hidden = 256;
    std::int64_t heads = 4;
    double dropout = 0.1;
    double learning_rate = 1e-3;
    double weight_decay = 1e-2;
    std::int64_t epochs = 100;
    std::int64_t batch_size = 128;
    std::int64_t patience = 10;
    std::int64_t bootstrap_resamples = 200;
    std::int64_t embed_batch_size = 256;
};

class Head : public nn::Module {
public:
    virtual at::Tensor forward(const at::Tensor& features) = 0;
};

class MlpHead final : public Head {
public:
    MlpHead(std::int64_t in, std::int64_t hidden, double dropout, std::int64_t classes)
        : hidden_(register_module("hidden", nn::Linear(in, hidden))), dropout_(register_module("dropout", nn::Dropout(dropout))),
          output_(register_module("output", nn::Linear(hidden, classes))) {}
    at::Tensor forward(const at::Tensor& x) override { return output_->forward(dropout_->forward(hidden_->forward(x).relu())); }

private:
    nn::Linear hidden_;
    nn::Dropout dropout_;
    nn::Linear output_;
};

class AttentionHead final : public Head {
public:
    AttentionHead(std::int64_t width, std::int64_t heads, double dropout, std::int64_t classes)
        : query_(register_parameter("query", at::randn({1, 1, width}) * 0.02)),
          attention_(register_module("attention", nn::MultiheadAttention(nn::MultiheadAttentionOptions(width, heads).dropout(dropout)))),
          norm_(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width})))),
          output_(register_module("output", nn::Linear(width, classes))) {}

    // tokens [B, N, D] → logits [B, classes]; the module works sequence-first.
    at::Tensor forward(const at::Tensor& tokens) override {
        const at::Tensor keys = tokens.transpose(0, 1);
        const at::Tensor query = query_.expand({1, tokens.size(0), query_.size(2)});
        const at::Tensor pooled = std::get<0>(attention_->forward(query, keys, keys, {}, /*need_weights=*/false)).squeeze(0);
        return output_->forward(norm_->forward(pooled));
    }

private:
    at::Tensor query_;
    nn::MultiheadAttention attention_;
    nn::LayerNorm norm_;
    nn::Linear output_;
};

std::string format(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}

class HeadProbe final : public ecgbench::Task {
public:
    HeadProbe(HeadKind kind, const Params& p) : kind_(kind) {
        if (kind == HeadKind::Mlp)
            s_.hidden = p.get_int("hidden");
        else
            s_.heads = p.get_int("heads");
        s_.dropout = p.get_float("dropout");
        s_.learning_rate = p.get_float("learning_rate");
        s_.weight_decay = p.get_float("weight_decay");
        s_.epochs = p.get_int("epochs");
        s_.batch_size = p.get_int("batch_size");
        s_.patience = p.get_int("patience");
        s_.bootstrap_resamples = p.get_int("bootstrap_resamples");
        s_.embed_batch_size = p.get_int("embed_batch_size");
    }

    ecgbench::TaskResult evaluate(const EvalContext& ctx) override {
        const std::string name = kind_ == HeadKind::Mlp ? "mlp_probe" : "attention_probe";
        auto log = [&](const std::string& line) {
            if (ctx.log) ctx.log(name + ": " + line);
        };
        ecgbench::require_classification_splits(ctx, name);
        log("encoding " + std::to_string(ctx.train.size()) + "/" + std::to_string(ctx.val.size()) + "/" + std::to_string(ctx.test.size()) +
            " records (train/val/test)");
        at::Tensor train_x = features(ctx, ctx.train, name);
        at::Tensor val_x = ctx.val.size() > 0 ? features(ctx, ctx.val, name) : at::Tensor();
        at::Tensor test_x = features(ctx, ctx.test, name);

        // Standardise every feature (over records, and tokens for the attention head) with train
        // statistics; constant features become 0 instead of NaN.
        const at::Tensor flat = train_x.reshape({-1, train_x.size(-1)});
        const at::Tensor mean = flat.mean(0), sd = flat.std(0, /*unbiased=*/false).clamp_min(1e-8);
        auto standardise = [&](const at::Tensor& t) { return t.defined() ? ((t - mean) / sd).contiguous() : t; };
        train_x = standardise(train_x);
        val_x = standardise(val_x);
        test_x = standardise(test_x);

        const std::int64_t width = train_x.size(-1), classes = static_cast<std::int64_t>(ctx.dataset.classes.size());
        if (kind_ == HeadKind::Attention && width % s_.heads != 0)
            throw std::invalid_argument(name + ": param 'heads' (" + std::to_string(s_.heads) + ") must divide the encoder's token width " +
                                        std::to_string(width));
        torch::manual_seed(ctx.seed);
        std::shared_ptr<Head> head;
        if (kind_ == HeadKind::Mlp)
            head = std::make_shared<MlpHead>(width, s_.hidden, s_.dropout, classes);
        else
            head = std::make_shared<AttentionHead>(width, s_.heads, s_.dropout, classes);
        head->to(ctx.device);

        const Training fit = train(*head, train_x, ctx.train.labels.to(at::kFloat), val_x, ctx.val.labels, ctx.device, log);
        ecgbench::TaskResult result = ecgbench::classification_result(
            ctx, val_x.defined() ? predict(*head, val_x, ctx.device) : at::Tensor(), predict(*head, test_x, ctx.device),
            {s_.bootstrap_resamples, log});
        if (!std::isnan(fit.best_val)) result.metrics.push_back({"macro_auroc", "val", fit.best_val});
        result.metrics.push_back({"epochs", "val", static_cast<double>(fit.best_epoch)});
        return result;
    }

private:
    struct Training {
        double best_val = std::numeric_limits<double>::quiet_NaN();
        std::int64_t best_epoch = 0;  ///< 1-based epoch whose weights the head keeps
    };

    // The frozen encoder's pooled embeddings [N, D] (MLP) or tokens [N, T, D] (attention), float.
    at::Tensor features(const EvalContext& ctx, const ecgbench::EcgSplit& split, const std::string& name) const {
        at::Tensor x;
        try {
            x = kind_ == HeadKind::Mlp ? ecgbench::embed(*ctx.encoder, split.signals, s_.embed_batch_size, split.lead_present)
                                       : ecgbench::embed_tokens(*ctx.encoder, split.signals, s_.embed_batch_size, split.lead_present);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(name + ": " + e.what());
        }
        if (x.size(0) != split.size()) throw std::runtime_error(name + ": the encoder returned outputs for another number of records");
        if (!at::isfinite(x).all().item<bool>()) throw std::runtime_error(name + ": the encoder produced non-finite outputs");
        return x.to(at::kFloat);
    }

    at::Tensor predict(Head& head, const at::Tensor& x, const c10::Device& device) const {
        torch::NoGradGuard no_grad;
        head.eval();
        std::vector<at::Tensor> parts;
        for (std::int64_t start = 0; start < x.size(0); start += s_.embed_batch_size)
            parts.push_back(head.forward(x.slice(0, start, start + s_.embed_batch_size).to(device)).to(at::kCPU));
        return at::cat(parts, 0);
    }

    // AdamW on BCE; after each epoch the validation macro AUROC decides whether these weights are
    // the best so far; `patience` epochs without improvement stop training. Without a usable
    // validation split every epoch runs and the last weights are kept.
    Training train(Head& head, const at::Tensor& x, const at::Tensor& y, const at::Tensor& val_x, const at::Tensor& val_y,
                   const c10::Device& device, const std::function<void(const std::string&)>& log) const {
        torch::AutoGradMode grad_on(true);  // the host may call evaluate() under NoGradGuard
        torch::optim::AdamW optimiser(head.parameters(), torch::optim::AdamWOptions(s_.learning_rate).weight_decay(s_.weight_decay));
        Training best;
        std::vector<at::Tensor> best_state;
        std::int64_t since_best = 0, epoch = 0;
        const std::int64_t n = x.size(0);
        while (++epoch <= s_.epochs) {
            head.train();
            const at::Tensor order = at::randperm(n, at::kLong);
            for (std::int64_t start = 0; start < n; start += s_.batch_size) {
                const at::Tensor rows = order.slice(0, start, start + s_.batch_size);
                const at::Tensor logits = head.forward(x.index_select(0, rows).to(device));
                const at::Tensor loss = at::binary_cross_entropy_with_logits(logits, y.index_select(0, rows).to(device));
                optimiser.zero_grad();
                loss.backward();
                optimiser.step();
            }
            if (!val_x.defined()) continue;
            const double value = ecgbench::macro_auroc_of(predict(head, val_x, device), val_y);
            if (std::isnan(value)) continue;
            if (best_state.empty() || value > best.best_val) {
                best = {value, epoch};
                best_state.clear();
                for (const auto& p : head.parameters()) best_state.push_back(p.detach().clone());
                since_best = 0;
            } else if (++since_best >= s_.patience) {
                log("early stop after epoch " + std::to_string(epoch) + " (best " + std::to_string(best.best_epoch) + ")");
                break;
            }
        }
        if (!best_state.empty()) {
            torch::NoGradGuard no_grad;
            auto parameters = head.parameters();
            for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(best_state[i]);
            log("val macro AUROC " + format(best.best_val) + " at epoch " + std::to_string(best.best_epoch));
        } else {
            best.best_epoch = std::min(epoch, s_.epochs);  // no validation: the last epoch's weights
        }
        return best;
    }

    HeadKind kind_;
    Settings s_;
};

std::vector<ecgbench::ParamSpec> shared_params() {
    namespace param = ecgbench::param;
    return {
        param::real("dropout", 0.1, "dropout in the head during training").between(0.0, 0.9),
        param::real("learning_rate", 1e-3, "AdamW learning rate of the head").between(1e-6, 1.0),
        param::real("weight_decay", 1e-2, "AdamW decoupled weight decay").between(0.0, 10.0),
        param::integer("epochs", 100, "most epochs over the train split").between(1, 10000),
        param::integer("batch_size", 128, "records per head update").between(1, 65536),
        param::integer("patience", 10, "epochs without a better val macro AUROC before stopping").between(1, 10000),
        param::integer("bootstrap_resamples", 200, "bootstrap draws for the test macro AUROC 95% CI (0 = no CI)").between(0, 100000),
        param::integer("embed_batch_size", 256, "records per encoder batch when computing the frozen outputs").between(1, 65536),
    };
}

std::vector<ecgbench::PluginDescriptor> describe_all() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor mlp;
    mlp.manifest = {"mlp_probe", ecgbench::PluginKind::Task, "1.0.0",
                    "frozen pooled embeddings + MLP head (AdamW, BCE), early stopping on val macro AUROC; test AUROC",
                    shared_params(),
                    /*needs=*/{"labels"}};
    mlp.manifest.params.push_back(param::integer("hidden", 256, "width of the MLP's hidden layer").between(1, 65536));
    mlp.make_task = [](const Params& p) { return std::make_unique<HeadProbe>(HeadKind::Mlp, p); };

    ecgbench::PluginDescriptor attention;
    attention.manifest = {"attention_probe", ecgbench::PluginKind::Task, "1.0.0",
                          "frozen encoder tokens + attention pooling (learnable query) + linear head, early stopping on val macro AUROC",
                          shared_params(),
                          /*needs=*/{"labels", "tokens"}};
    attention.manifest.params.push_back(param::integer("heads", 4, "attention heads (must divide the token width)").between(1, 64));
    attention.make_task = [](const Params& p) { return std::make_unique<HeadProbe>(HeadKind::Attention, p); };
    return {mlp, attention};
}

}  // namespace

ECGBENCH_PLUGINS(describe_all)
