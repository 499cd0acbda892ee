// masked_patches: masked-token pretraining (the MAE/ST-MEM mechanism) in one out-of-tree file.
// A random `mask_ratio` of each record's tokens is hidden from the encoder (token_mask); a linear
// decoder predicts each hidden patch's samples from the encoder's token at that position; the loss
// is the mean squared error over hidden patches of present leads. Needs "tokens".
// Simplified: masked tokens are replaced by a mask token inside the encoder (SimMIM style) rather
// than dropped, and the decoder is one linear layer.
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/linear.h>

namespace {
namespace nn = torch::nn;

class MaskedPatches : public ecgbench::SslMethod {
public:
    explicit MaskedPatches(const ecgbench::Params& p) : ratio_(p.get_float("mask_ratio")) {}

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        tokens_ = context.token_count;
        if (tokens_ < 1 || (context.input.leads * context.input.samples) / tokens_ < 1)
            throw std::invalid_argument("masked_patches: the encoder has no tokens");
        leads_ = context.input.leads;
        patch_ = context.input.samples / (tokens_ / leads_);
        torch::NoGradGuard no_grad;  // one probe call for the token width
        probe_width_ = encoder.encode({torch::zeros({1, leads_, context.input.samples}).to(ecgbench::device_of(encoder)), {}, {}})
                           .tokens.size(2);
        decoder_ = register_module("decoder", nn::Linear(probe_width_, patch_));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        const auto b = batch.size();
        const at::Tensor mask = at::rand({b, tokens_}, batch.signals.options()) < ratio_;
        const at::Tensor tokens = encoder.encode({batch.signals, batch.lead_present, mask}).tokens;  // [B, N, D]
        const at::Tensor target = batch.signals.narrow(2, 0, (tokens_ / leads_) * patch_).reshape({b, tokens_, patch_});
        const at::Tensor present = batch.lead_present.unsqueeze(-1).expand({b, leads_, tokens_ / leads_}).reshape({b, tokens_});
        const at::Tensor hidden = (mask & present).to(tokens.scalar_type());
        const at::Tensor error = (decoder_->forward(tokens) - target).pow(2).mean(2);
        return (error * hidden).sum() / hidden.sum().clamp_min(1);
    }

private:
    double ratio_;
    std::int64_t tokens_ = 0, leads_ = 0, patch_ = 0, probe_width_ = 0;
    nn::Linear decoder_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"masked_patches", ecgbench::PluginKind::Ssl, "0.1.0", "masked patch reconstruction (example)",
                  {ecgbench::param::real("mask_ratio", 0.5, "share of tokens hidden").between(0.05, 0.95)},
                  /*needs=*/{"tokens"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<MaskedPatches>(p); };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
