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
// Leads marked absent in a record are re-zeroed in each view so augmentation never invents them,
// and the encoder gets the lead mask. Views: every strength of ecgbench::AugmentConfig at its
// default (gain ±20 %, noise 5 % of the record's SD, baseline wander 0.1, shift ≤ 10 %, one time
// mask ≤ 10 %, no lead dropout), each a parameter (augmentation_params()).
#include "ecgbench/augment.hpp"
#include "ecgbench/heads.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

class SimClr : public ecgbench::SslMethod {
public:
    explicit SimClr(const ecgbench::Params& p)
        : proj_dim_(p.get_int("proj_dim")), temperature_(p.get_float("temperature")),
          augment_(ecgbench::augmentation_from(p)) {}

    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) throw std::invalid_argument("simclr: embedding_dim must be positive");
        // Registered: the host moves it to the training device, optimises and checkpoints it.
        head_ = register_module("head", std::make_shared<ecgbench::ProjectionHead>(context.embedding_dim, proj_dim_));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!head_) throw std::logic_error("simclr: loss() called before setup()");
        at::Tensor view1 = ecgbench::augment(batch.signals, augment_);
        at::Tensor view2 = ecgbench::augment(batch.signals, augment_);
        if (batch.lead_present.defined()) {
            const at::Tensor present = batch.lead_present.unsqueeze(-1).to(view1.scalar_type());
            view1 = view1 * present;
            view2 = view2 * present;
        }
        const std::int64_t b = batch.signals.size(0);
        at::Tensor lead_present;
        if (batch.lead_present.defined()) lead_present = at::cat({batch.lead_present, batch.lead_present}, 0);
        const at::Tensor z = head_->forward(encoder.encode({at::cat({view1, view2}, 0), lead_present, {}}).pooled);
        return ecgbench::nt_xent_loss(z.narrow(0, 0, b), z.narrow(0, b, b), temperature_);
    }

private:
    std::int64_t proj_dim_;
    double temperature_;
    ecgbench::AugmentConfig augment_;
    std::shared_ptr<ecgbench::ProjectionHead> head_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"simclr",
                  ecgbench::PluginKind::Ssl,
                  "1.0.0",
                  "SimCLR (Chen et al. 2020): NT-Xent between two augmented views, MLP projection head",
                  std::vector<ecgbench::ParamSpec>{param::integer("proj_dim", 128, "output width of the projection head").at_least(1),
                                                   param::real("temperature", 0.1, "NT-Xent temperature τ").between(1e-3, 10)} +
                      ecgbench::augmentation_params()};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<SimClr>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
