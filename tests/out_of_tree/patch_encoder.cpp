// patch_encoder: a token encoder in one out-of-tree file. Each lead is cut into patches of
// `patch` samples; a shared linear patch embedding plus learned lead and position embeddings make
// one token per (lead, patch); masked tokens (token_mask) are replaced by a learned mask token and
// absent leads' tokens are zeroed; one transformer layer mixes them. Pooled = mean over the tokens
// of present leads. Provides "tokens" (N = leads × samples / patch).
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/transformer.h>
#include <torch/nn/modules/transformerlayer.h>

namespace {
namespace nn = torch::nn;

class PatchEncoder : public ecgbench::Encoder {
public:
    PatchEncoder(const ecgbench::Params& p, const ecgbench::EncoderInput& in)
        : patch_(p.get_int("patch")), width_(p.get_int("width")), leads_(in.leads), patches_(in.samples / patch_) {
        if (patches_ < 1) throw std::invalid_argument("patch_encoder: records shorter than one patch");
        embed_ = register_module("embed", nn::Linear(patch_, width_));
        lead_ = register_parameter("lead", torch::randn({leads_, 1, width_}) * 0.02);
        position_ = register_parameter("position", torch::randn({1, patches_, width_}) * 0.02);
        mask_token_ = register_parameter("mask_token", torch::zeros({width_}));
        mixer_ = register_module("mixer", nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(width_, 4).dim_feedforward(2 * width_).dropout(0.0)));
    }

    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& in) override {
        const auto b = in.signals.size(0);
        const at::Tensor patches = in.signals.narrow(2, 0, patches_ * patch_).reshape({b, leads_, patches_, patch_});
        at::Tensor tokens = embed_->forward(patches) + lead_ + position_;  // [B, L, P, D]
        tokens = tokens.reshape({b, leads_ * patches_, width_});
        if (in.token_mask.defined())
            tokens = at::where(in.token_mask.unsqueeze(-1), mask_token_.expand_as(tokens), tokens);
        at::Tensor present = at::ones({b, leads_}, in.signals.options().dtype(at::kBool));
        if (in.lead_present.defined()) present = in.lead_present;
        const at::Tensor token_present = present.unsqueeze(-1).expand({b, leads_, patches_}).reshape({b, leads_ * patches_});
        tokens = tokens * token_present.unsqueeze(-1);
        tokens = mixer_->forward(tokens.transpose(0, 1)).transpose(0, 1);  // [B, N, D]
        const at::Tensor weight = token_present.to(tokens.scalar_type()).unsqueeze(-1);
        const at::Tensor pooled = (tokens * weight).sum(1) / weight.sum(1).clamp_min(1);
        return {pooled, tokens};
    }

    std::int64_t embedding_dim() const override { return width_; }
    std::int64_t token_count() const override { return leads_ * patches_; }

private:
    std::int64_t patch_, width_, leads_, patches_;
    nn::Linear embed_{nullptr};
    at::Tensor lead_, position_, mask_token_;
    nn::TransformerEncoderLayer mixer_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"patch_encoder", ecgbench::PluginKind::Encoder, "0.1.0", "per-lead patches + one transformer layer (example)",
                  {ecgbench::param::integer("patch", 25, "samples per patch").at_least(1),
                   ecgbench::param::integer("width", 32, "token width (divisible by 4 heads)").at_least(4)},
                  /*needs=*/{}, /*provides=*/{"tokens"}};
    d.make_encoder = [](const ecgbench::Params& p, const ecgbench::EncoderInput& in) { return std::make_shared<PatchEncoder>(p, in); };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
