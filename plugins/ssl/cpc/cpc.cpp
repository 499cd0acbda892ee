// cpc: contrastive predictive coding (van den Oord et al. 2018) as ECG-CPC uses it (Mehari &
// Strodthoff 2022, "Self-supervised representation learning from 12-lead ECG data"; the 3.8 M
// parameter model of Al-Masud et al.'s ECG foundation-model benchmark): the encoder turns a record
// into a sequence of latent steps z_t (its tokens), an autoregressive context network (LSTM or
// GRU) summarises z_1..z_t into c_t, and a linear predictor W_k per horizon k = 1..K scores
// W_k c_t against z_{t+k} with InfoNCE (ecgbench::info_nce_loss); the loss is the mean over k.
//
// Negatives (param `negatives`): "batch" = for horizon k, the targets of every other (record, time
// step) pair in the batch, i.e. other steps of the same record and every step of the other records;
// "records" = the other records' targets at the same time step only (no negatives from the record
// itself, so the context must tell records apart rather than positions within one).
//
// What it simplifies relative to ECG-CPC:
//  - The encoder is the host's (its token grid: one step per 32 samples for resnet1d/xresnet1d)
//    instead of CPC's own stack of strided convolutions; its BatchNorm sees the whole batch.
//  - Downstream tasks use the encoder's pooled embedding (the mean of its tokens), not the
//    context network's last state; the context network is saved with the method.
//  - No data augmentation (the paper uses none either) and no separate negative sampling scheme.
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include <map>
#include <memory>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;

class Cpc : public ecgbench::SslMethod {
public:
    explicit Cpc(const ecgbench::Params& p)
        : context_type_(p.get_string("context")), context_dim_(p.get_int("context_dim")), layers_(p.get_int("context_layers")),
          steps_(p.get_int("steps")), temperature_(p.get_float("temperature")), across_time_(p.get_string("negatives") == "batch") {}

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        const auto [count, width] = token_shape(encoder, context.input);
        if (steps_ >= count)
            throw std::invalid_argument("cpc: param 'steps' (" + std::to_string(steps_) + ") must be below the encoder's " +
                                        std::to_string(count) + " tokens per record");
        if (context_type_ == "lstm") {
            lstm_ = register_module("context", nn::LSTM(nn::LSTMOptions(width, context_dim_).num_layers(layers_).batch_first(true)));
        } else {
            gru_ = register_module("context", nn::GRU(nn::GRUOptions(width, context_dim_).num_layers(layers_).batch_first(true)));
        }
        for (std::int64_t k = 1; k <= steps_; ++k)
            predictors_.push_back(register_module("predictor" + std::to_string(k), nn::Linear(nn::LinearOptions(context_dim_, width).bias(false))));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (predictors_.empty()) throw std::logic_error("cpc: loss() called before setup()");
        const at::Tensor z = encoder.encode({batch.signals, batch.lead_present, {}}).tokens;  // [B, T', D]
        if (!z.defined() || z.dim() != 3) throw std::runtime_error("cpc: the encoder returned no tokens [B, T', D]");
        const at::Tensor c = lstm_ ? std::get<0>(lstm_->forward(z)) : std::get<0>(gru_->forward(z));  // [B, T', H]
        const std::int64_t steps = z.size(1), width = z.size(2);
        at::Tensor total = at::zeros({}, z.options());
        std::map<std::string, at::Tensor> terms;
        for (std::int64_t k = 1; k <= steps_; ++k) {
            // c_t for t = 0 .. T'−k−1 predicts z_{t+k}; every pair of the batch is one row.
            const at::Tensor prediction = predictors_[static_cast<std::size_t>(k - 1)]->forward(c.narrow(1, 0, steps - k));
            const at::Tensor target = z.narrow(1, k, steps - k);
            const at::Tensor term = across_time_
                                        ? ecgbench::info_nce_loss(prediction.reshape({-1, width}), target.reshape({-1, width}), temperature_)
                                        : ecgbench::info_nce_loss(prediction.transpose(0, 1), target.transpose(0, 1), temperature_);  // one set per step
            if (k == 1 || k == steps_) terms["infonce_k" + std::to_string(k)] = term;
            total = total + term;
        }
        return {total / static_cast<double>(steps_), terms};
    }

private:
    // Tokens per record and their width (the width is not part of PretrainContext): one tiny
    // forward in eval mode, so BatchNorm's running statistics stay untouched.
    static std::pair<std::int64_t, std::int64_t> token_shape(ecgbench::Encoder& encoder, const ecgbench::EncoderInput& input) {
        torch::NoGradGuard no_grad;
        const bool training = encoder.is_training();
        encoder.eval();
        const at::Tensor x = at::zeros({1, input.leads, input.samples}, at::TensorOptions().device(ecgbench::device_of(encoder)));
        const at::Tensor tokens = encoder.encode({x, {}, {}}).tokens;
        encoder.train(training);
        if (!tokens.defined() || tokens.dim() != 3)
            throw std::invalid_argument("cpc: the encoder returns no tokens [B, T', D]; CPC needs a sequence of latent steps");
        return {tokens.size(1), tokens.size(2)};
    }

    std::string context_type_;
    std::int64_t context_dim_, layers_, steps_;
    double temperature_;
    bool across_time_;
    nn::LSTM lstm_{nullptr};
    nn::GRU gru_{nullptr};
    std::vector<nn::Linear> predictors_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"cpc",
                  ecgbench::PluginKind::Ssl,
                  "1.0.0",
                  "CPC (van den Oord et al. 2018; ECG-CPC, Mehari & Strodthoff 2022): LSTM/GRU context over the "
                  "encoder's tokens, InfoNCE over K future steps, negatives = all other steps of the batch",
                  {param::choice("context", "lstm", {"lstm", "gru"}, "autoregressive context network"),
                   param::integer("context_dim", 256, "hidden width of the context network").between(1, 8192),
                   param::integer("context_layers", 2, "stacked recurrent layers").between(1, 8),
                   param::integer("steps", 4, "future steps K predicted (one linear predictor W_k each); below the token count").between(1, 64),
                   param::choice("negatives", "batch", {"batch", "records"},
                                 "batch: every other (record, step) of the batch; records: other records at the same step"),
                   param::real("temperature", 1.0, "InfoNCE temperature τ on the dot-product scores").between(1e-3, 100)},
                  /*needs=*/{"tokens"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Cpc>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
