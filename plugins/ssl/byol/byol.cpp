// byol: Bootstrap Your Own Latent (Grill et al. 2020, "Bootstrap your own latent: a new approach to
// self-supervised learning"). An online network (the encoder, a projector and a predictor) learns
// to predict, from one augmented view of a record, the target network's projection of the other
// view. The target network (a copy of the encoder and the projector) is not optimised: after every
// optimiser step it moves towards the online one, ξ ← τ·ξ + (1 − τ)·θ, with τ rising from τ_base to
// 1 on a cosine over the run, τ = 1 − (1 − τ_base)·(cos(π·step/total_steps) + 1)/2. No negatives.
//
// Loss: the symmetric normalised MSE (ecgbench::byol_regression_loss, 2 − 2·cos, target detached)
//   L = mean_i ‖q̂(v1_i) − ẑ'(v2_i)‖² + mean_i ‖q̂(v2_i) − ẑ'(v1_i)‖²,
// q = predictor(projector(encoder(v))) online, z' = projector'(encoder'(v)) target, ^ = L2-normalised;
// its two halves are stored as terms "view1_to_view2" and "view2_to_view1".
// Projector and predictor are the paper's MLP: Linear – BatchNorm – ReLU – Linear, widths as params
// (the paper: hidden 4096, output 256; defaults here 1024/256, for the small ECG encoders).
//
// What it simplifies relative to the paper:
//  - ECG augmentations (ecgbench::augment, both views with the same strengths, every one a
//    parameter) replace the two asymmetric image pipelines;
//  - the optimiser is the host's (AdamW or SGD with its warm-up/cosine schedule, not LARS);
//  - the EMA follows parameters only; the target's BatchNorm running statistics are its own (it
//    runs in training mode, on batch statistics, as in the paper, so they are never used).
// Both views go through each network in one pass (concatenated along the batch), so BatchNorm
// statistics cover both views. Leads marked absent are re-zeroed in each view.
#include "ecgbench/augment.hpp"
#include "ecgbench/ema.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace {

namespace nn = torch::nn;

// The paper's projector/predictor: Linear – BN – ReLU – Linear.
nn::Sequential mlp(std::int64_t in, std::int64_t hidden, std::int64_t out) {
    return nn::Sequential(nn::Linear(in, hidden), nn::BatchNorm1d(hidden), nn::ReLU(), nn::Linear(hidden, out));
}

class Byol : public ecgbench::SslMethod {
public:
    explicit Byol(const ecgbench::Params& p)
        : projector_hidden_(p.get_int("projector_hidden")), proj_dim_(p.get_int("proj_dim")),
          predictor_hidden_(p.get_int("predictor_hidden")), tau_base_(p.get_float("tau_base")),
          augment_(ecgbench::augmentation_from(p)) {}

    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) throw std::invalid_argument("byol: embedding_dim must be positive");
        if (!context.copy_encoder) throw std::invalid_argument("byol: the host gave no copy_encoder (needed for the target network)");
        projector_ = register_module("projector", mlp(context.embedding_dim, projector_hidden_, proj_dim_));
        predictor_ = register_module("predictor", mlp(proj_dim_, predictor_hidden_, proj_dim_));
        // The target starts equal to the online network; registered, so it is saved and moved with
        // the method, but frozen, so the host's optimiser leaves it alone.
        target_encoder_ = register_module("target_encoder", context.copy_encoder());
        target_projector_ = register_module("target_projector", mlp(context.embedding_dim, projector_hidden_, proj_dim_));
        ecgbench::copy_module_state(*projector_, *target_projector_);
        for (auto& p : target_encoder_->parameters()) p.set_requires_grad(false);
        for (auto& p : target_projector_->parameters()) p.set_requires_grad(false);
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!projector_) throw std::logic_error("byol: loss() called before setup()");
        const std::int64_t b = batch.size();
        if (b < 2) throw std::invalid_argument("byol: needs at least 2 records per batch (BatchNorm in the heads)");
        at::Tensor view1 = ecgbench::augment(batch.signals, augment_);
        at::Tensor view2 = ecgbench::augment(batch.signals, augment_);
        at::Tensor present;
        if (batch.lead_present.defined()) {
            const at::Tensor mask = batch.lead_present.unsqueeze(-1).to(view1.scalar_type());
            view1 = view1 * mask;
            view2 = view2 * mask;
            present = at::cat({batch.lead_present, batch.lead_present}, 0);
        }
        const at::Tensor views = at::cat({view1, view2}, 0);
        const at::Tensor online = predictor_->forward(projector_->forward(encoder.encode({views, present, {}}).pooled));
        at::Tensor target;
        {
            torch::NoGradGuard no_grad;
            target = target_projector_->forward(target_encoder_->encode({views, present, {}}).pooled);
        }
        // Online view 1 predicts target view 2 and vice versa.
        const at::Tensor first = ecgbench::byol_regression_loss(online.narrow(0, 0, b), target.narrow(0, b, b));
        const at::Tensor second = ecgbench::byol_regression_loss(online.narrow(0, b, b), target.narrow(0, 0, b));
        return {first + second, {{"view1_to_view2", first.detach()}, {"view2_to_view1", second.detach()}}};
    }

    void on_step_end(ecgbench::Encoder& encoder, const ecgbench::StepState& state) override {
        const double progress =
            std::clamp(static_cast<double>(state.step) / static_cast<double>(std::max<std::int64_t>(1, state.total_steps)), 0.0, 1.0);
        const double tau = 1 - (1 - tau_base_) * (std::cos(std::numbers::pi * progress) + 1) / 2;
        ecgbench::ema_update(encoder.parameters(), target_encoder_->parameters(), tau, "byol");
        ecgbench::ema_update(projector_->parameters(), target_projector_->parameters(), tau, "byol");
    }

private:
    std::int64_t projector_hidden_, proj_dim_, predictor_hidden_;
    double tau_base_;
    ecgbench::AugmentConfig augment_;
    nn::Sequential projector_{nullptr}, predictor_{nullptr}, target_projector_{nullptr};
    ecgbench::EncoderPtr target_encoder_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"byol",
                  ecgbench::PluginKind::Ssl,
                  "1.0.0",
                  "BYOL (Grill et al. 2020): online network + predictor regress an EMA target network's projection, no negatives",
                  std::vector<ecgbench::ParamSpec>{
                      param::integer("projector_hidden", 1024, "hidden width of the projector MLP (paper: 4096)").between(1, 65536),
                      param::integer("proj_dim", 256, "output width of projector and predictor (paper: 256)").between(1, 65536),
                      param::integer("predictor_hidden", 1024, "hidden width of the predictor MLP (paper: 4096)").between(1, 65536),
                      param::real("tau_base", 0.99, "EMA rate τ of the target at the first step; rises to 1 on a cosine (paper: 0.996)")
                          .between(0, 1)} +
                      ecgbench::augmentation_params()};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Byol>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
