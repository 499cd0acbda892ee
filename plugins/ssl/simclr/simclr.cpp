// simclr: contrastive pretraining after SimCLR (Chen et al. 2020, "A Simple Framework for
// Contrastive Learning of Visual Representations"): two stochastic views of each record, a shared
// encoder, an MLP projection head Linear(D→D)–ReLU–Linear(D→proj_dim), and the NT-Xent loss over the
// 2B projections (ecgbench::nt_xent_loss), which makes each view pick out its partner among the batch.
//
// What it simplifies relative to the paper:
//  - ECG augmentations (ecgbench::augment: shift, gain, baseline wander, noise, time mask, lead
//    dropout) replace the image crops/colour jitter; both views use the same strengths.
//  - The projection head has no BatchNorm (the paper's large-batch variant adds BN to the head).
//  - The optimiser is the host's (LARS and the large-batch schedule are not reproduced).
// Both views go through the encoder in one forward pass (concatenated along the batch), so
// BatchNorm statistics cover both views, as in the reference implementation, and it is faster.
// Leads marked absent in a record are re-zeroed in each view so augmentation never invents them.
#include "ecgbench/augment.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/linear.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;

class ProjectionHead : public nn::Module {
public:
    ProjectionHead(std::int64_t in, std::int64_t out)
        : hidden_(register_module("hidden", nn::Linear(in, in))), output_(register_module("output", nn::Linear(in, out))) {}

    at::Tensor forward(const at::Tensor& x) { return output_->forward(hidden_->forward(x).relu()); }

private:
    nn::Linear hidden_;
    nn::Linear output_;
};

/// Device of a module's first parameter (or buffer); CPU for a parameter-free module.
c10::Device device_of(nn::Module& module) {
    for (const auto& p : module.parameters()) return p.device();
    for (const auto& b : module.buffers()) return b.device();
    return c10::Device(c10::kCPU);
}

class SimClr : public ecgbench::SslMethod {
public:
    explicit SimClr(const ecgbench::Params& p)
        : proj_dim_(p.get_int("proj_dim")), temperature_(p.get_float("temperature")) {
        augment_.amplitude_scale = p.get_float("amplitude_scale");
        augment_.gaussian_noise = p.get_float("gaussian_noise");
        augment_.baseline_wander = p.get_float("baseline_wander");
        augment_.max_shift = p.get_float("max_shift");
        augment_.time_mask = p.get_float("time_mask");
        augment_.lead_dropout = p.get_float("lead_dropout");
    }

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) {
            throw std::invalid_argument("simclr: embedding_dim must be positive");
        }
        head_ = std::make_shared<ProjectionHead>(context.embedding_dim, proj_dim_);
        // Heads live where the encoder lives (the host moves the encoder before setup).
        head_->to(device_of(encoder));
    }

    std::vector<at::Tensor> parameters() override { return head_ ? head_->parameters() : std::vector<at::Tensor>{}; }

    void train(bool on) override {
        if (head_) head_->train(on);
    }

    at::Tensor loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!head_) {
            throw std::logic_error("simclr: loss() called before setup()");
        }
        at::Tensor view1 = ecgbench::augment(batch.signals, augment_);
        at::Tensor view2 = ecgbench::augment(batch.signals, augment_);
        if (batch.lead_present.defined()) {
            const at::Tensor present = batch.lead_present.unsqueeze(-1).to(view1.scalar_type());
            view1 = view1 * present;
            view2 = view2 * present;
        }
        const std::int64_t b = batch.signals.size(0);
        const at::Tensor z = head_->forward(encoder.forward(at::cat({view1, view2}, 0)));
        return ecgbench::nt_xent_loss(z.narrow(0, 0, b), z.narrow(0, b, b), temperature_);
    }

private:
    std::int64_t proj_dim_;
    double temperature_;
    ecgbench::AugmentConfig augment_;
    std::shared_ptr<ProjectionHead> head_;
};

ecgbench::PluginDescriptor describe() {
    using ecgbench::ParamType;
    const ecgbench::AugmentConfig defaults;
    ecgbench::PluginDescriptor d;
    d.manifest = {
        "simclr",
        ecgbench::PluginKind::Ssl,
        "1.0.0",
        "SimCLR (Chen et al. 2020): NT-Xent between two augmented views, MLP projection head",
        {{"proj_dim", ParamType::Int, std::int64_t{128}, "output width of the projection head", 1.0, {}, {}},
         {"temperature", ParamType::Float, 0.1, "NT-Xent temperature τ", 1e-3, 10.0, {}},
         {"amplitude_scale", ParamType::Float, defaults.amplitude_scale,
          "per-lead gain drawn from U(1-s, 1+s); 0 disables", 0.0, 1.0, {}},
         {"gaussian_noise", ParamType::Float, defaults.gaussian_noise,
          "additive noise std relative to the record's std; 0 disables", 0.0, 10.0, {}},
         {"baseline_wander", ParamType::Float, defaults.baseline_wander,
          "amplitude of a 0.5-2 cycle sinusoid relative to the record's std; 0 disables", 0.0, 10.0, {}},
         {"max_shift", ParamType::Float, defaults.max_shift,
          "circular time shift up to this fraction of the record; 0 disables", 0.0, 1.0, {}},
         {"time_mask", ParamType::Float, defaults.time_mask,
          "zero one span of up to this fraction of the record; 0 disables", 0.0, 1.0, {}},
         {"lead_dropout", ParamType::Float, defaults.lead_dropout,
          "probability that each lead of a view is zeroed; 0 disables", 0.0, 1.0, {}}}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::unique_ptr<ecgbench::SslMethod> {
        return std::make_unique<SimClr>(p);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
