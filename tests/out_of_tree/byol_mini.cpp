// byol_mini: BYOL's mechanism (Grill et al. 2020) in one out-of-tree file — an online network
// (encoder + projector + predictor) and a target network (encoder + projector) that is an EMA of
// it, updated after every optimiser step with τ rising from τ_base to 1 on a cosine; symmetric
// normalised-MSE loss, no negatives. Simplified: ECG augmentations, small MLPs, no LARS.
#include "ecgbench/augment.hpp"
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

namespace {
namespace nn = torch::nn;

nn::Sequential mlp(std::int64_t in, std::int64_t out) { return nn::Sequential(nn::Linear(in, 64), nn::ReLU(), nn::Linear(64, out)); }

class ByolMini : public ecgbench::SslMethod {
public:
    explicit ByolMini(const ecgbench::Params& p) : tau_base_(p.get_float("tau_base")), augment_(ecgbench::augmentation_from(p)) {}

    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        projector_ = register_module("projector", mlp(context.embedding_dim, 32));
        predictor_ = register_module("predictor", mlp(32, 32));
        target_encoder_ = register_module("target_encoder", context.copy_encoder());
        target_projector_ = register_module("target_projector", mlp(context.embedding_dim, 32));
        ecgbench::copy_module_state(*projector_, *target_projector_);
        for (auto& p : target_encoder_->parameters()) p.set_requires_grad(false);  // saved, not optimised
        for (auto& p : target_projector_->parameters()) p.set_requires_grad(false);
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        const at::Tensor mask = batch.lead_present.unsqueeze(-1);
        const at::Tensor v1 = ecgbench::augment(batch.signals, augment_) * mask;
        const at::Tensor v2 = ecgbench::augment(batch.signals, augment_) * mask;
        auto online = [&](const at::Tensor& v) {
            return predictor_->forward(projector_->forward(encoder.encode({v, batch.lead_present, {}}).pooled));
        };
        auto target = [&](const at::Tensor& v) {
            torch::NoGradGuard no_grad;
            return target_projector_->forward(target_encoder_->encode({v, batch.lead_present, {}}).pooled);
        };
        auto regression = [](const at::Tensor& p, const at::Tensor& z) {
            return (2 - 2 * at::cosine_similarity(p, z, 1)).mean();
        };
        return regression(online(v1), target(v2)) + regression(online(v2), target(v1));
    }

    void on_step_end(ecgbench::Encoder& encoder, const ecgbench::StepState& step) override {
        const double progress = static_cast<double>(step.step) / static_cast<double>(std::max<std::int64_t>(1, step.total_steps));
        const double tau = 1 - (1 - tau_base_) * (std::cos(M_PI * progress) + 1) / 2;
        torch::NoGradGuard no_grad;
        auto follow = [tau](torch::nn::Module& online, torch::nn::Module& target) {
            auto source = online.parameters();
            auto dest = target.parameters();
            for (std::size_t i = 0; i < dest.size(); ++i) dest[i].mul_(tau).add_(source[i], 1 - tau);
        };
        follow(encoder, *target_encoder_);
        follow(*projector_, *target_projector_);
    }

private:
    double tau_base_;
    ecgbench::AugmentConfig augment_;
    nn::Sequential projector_{nullptr}, predictor_{nullptr}, target_projector_{nullptr};
    ecgbench::EncoderPtr target_encoder_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"byol_mini", ecgbench::PluginKind::Ssl, "0.1.0", "BYOL in brief: EMA target network, no negatives",
                  std::vector<ecgbench::ParamSpec>{ecgbench::param::real("tau_base", 0.99, "initial EMA rate").between(0, 1)} +
                      ecgbench::augmentation_params()};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<ByolMini>(p); };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
