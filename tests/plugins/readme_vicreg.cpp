// The plugin guide's (docs/plugins.md) SSL-method example, verbatim, built and run by the tests (README_examples).
// plugins/ssl/vicreg_mini/vicreg_mini.cpp: VICReg (Bardes et al. 2022) in brief — two augmented
// views, an expander MLP, and three named loss terms the store keeps per epoch.
#include "ecgbench/augment.hpp"
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/activation.h>

namespace {
namespace nn = torch::nn;

at::Tensor off_diagonal_squares(const at::Tensor& c) { return c.pow(2).sum() - c.diagonal().pow(2).sum(); }

class VicRegMini : public ecgbench::SslMethod {
public:
    explicit VicRegMini(const ecgbench::Params& p)
        : width_(p.get_int("expander_dim")), augment_(ecgbench::augmentation_from(p)) {}

    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        // Registered submodules are moved to the training device, optimised and checkpointed by the host.
        expander_ = register_module("expander", nn::Sequential(nn::Linear(context.embedding_dim, width_), nn::ReLU(),
                                                               nn::Linear(width_, width_)));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        const auto b = batch.size();
        const at::Tensor views = at::cat({ecgbench::augment(batch.signals, augment_), ecgbench::augment(batch.signals, augment_)});
        const at::Tensor mask = at::cat({batch.lead_present, batch.lead_present});
        const at::Tensor z = expander_->forward(encoder.encode({views * mask.unsqueeze(-1), mask, {}}).pooled);
        const at::Tensor z1 = z.narrow(0, 0, b), z2 = z.narrow(0, b, b);
        const at::Tensor invariance = (z1 - z2).pow(2).mean();
        at::Tensor variance = at::zeros({}), covariance = at::zeros({});
        for (const at::Tensor& v : {z1, z2}) {
            const at::Tensor centred = v - v.mean(0);
            variance = variance + at::relu(1.0 - (centred.var(0) + 1e-4).sqrt()).mean() / 2;
            covariance = covariance + off_diagonal_squares(centred.t().mm(centred) / (b - 1)) / width_ / 2;
        }
        return {25 * invariance + 25 * variance + covariance,
                {{"invariance", invariance.detach()}, {"variance", variance.detach()}, {"covariance", covariance.detach()}}};
    }

private:
    std::int64_t width_;
    ecgbench::AugmentConfig augment_;
    nn::Sequential expander_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"vicreg_mini", ecgbench::PluginKind::Ssl, "1.0.0", "VICReg in brief (example)",
                  std::vector<ecgbench::ParamSpec>{ecgbench::param::integer("expander_dim", 256, "expander width").at_least(8)} +
                      ecgbench::augmentation_params()};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<VicRegMini>(p); };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
