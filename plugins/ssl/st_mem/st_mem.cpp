// st_mem: spatio-temporal masked ECG modelling (ST-MEM; Na et al. 2024, "Guiding masked
// representation learning to capture spatio-temporal relationship of electrocardiogram", ICLR) and,
// with `variant = "mae"`, the plain masked autoencoder it builds on (He et al. 2022).
//
// Per batch, a share `mask_ratio` of each record's patch tokens is hidden from the encoder
// (EncoderBatch::token_mask; a patch encoder such as vit1d then encodes the visible tokens only):
//   st_mem  ⌊P · ratio⌋ patches in every lead, drawn per lead, so each lead is hidden at other
//           times and a hidden patch can be inferred from the same moment in other leads
//           (spatially) or from neighbouring moments of its own lead (temporally);
//   mae     ⌊n · ratio⌋ of the record's n tokens of present leads drawn uniformly over leads and time.
// A light transformer decoder (common/token_decoder.hpp: Linear to `decoder_width`, a learned mask
// token at hidden positions, position and lead embeddings, `decoder_depth` pre-norm blocks,
// LayerNorm, Linear to the patch length) reconstructs every patch: lead-wise for st_mem (ST-MEM's
// decoder attends within a lead), over all tokens for mae. The loss (ecgbench::masked_mse_loss over
// tokens) is the MSE on hidden patches of present leads only, against per-patch normalised targets
// with `normalise_targets` (ST-MEM's norm_pix_loss, on in its configs; ecgbench::normalise_patches).
// Stored terms: "hidden_share" (share of present-lead tokens hidden).
//
// What it simplifies relative to ST-MEM: the decoder gets its own learned lead embeddings where
// ST-MEM feeds it the encoder's [SEP] outputs (the encoder API returns patch tokens only), and its
// position embedding is learned from a sine-cosine start (ST-MEM's is fixed); no random crops or
// filtering inside the method (the dataset's preprocessing does that); the host's optimiser and
// schedule (ST-MEM: AdamW β = (0.9, 0.95), warm-up + cosine).
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <memory>
#include <optional>
#include <stdexcept>

#include "common/token_decoder.hpp"
#include "common/token_grid.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

namespace {

using ecgbench::masked::TokenDecoder;
using ecgbench::masked::TokenGrid;

class StMem : public ecgbench::SslMethod {
public:
    explicit StMem(const ecgbench::Params& p)
        : per_lead_(p.get_string("variant") == "st_mem"),
          ratio_(p.get_float("mask_ratio")),
          normalise_(p.get_bool("normalise_targets")),
          shape_{p.get_int("decoder_width"), p.get_int("decoder_depth"), p.get_int("decoder_heads")} {
        if (shape_.width % shape_.heads != 0)
            throw std::invalid_argument("st_mem: param 'decoder_width' (" + std::to_string(shape_.width) +
                                        ") must be divisible by 'decoder_heads' (" + std::to_string(shape_.heads) +
                                        ")");
    }

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        grid_.emplace("st_mem", encoder, context.input);
        if (normalise_ && grid_->patch() < 2)
            throw std::invalid_argument("st_mem: normalise_targets needs patches of at least 2 samples");
        decoder_ = register_module(
            "decoder",
            std::make_shared<TokenDecoder>(*grid_, ecgbench::masked::token_width("st_mem", encoder, context.input),
                                           grid_->patch(), shape_, per_lead_));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!decoder_) throw std::logic_error("st_mem: loss() called before setup()");
        const std::int64_t b = batch.size();
        const at::Tensor present = grid_->present(batch.lead_present, b, batch.signals.device());
        const at::Tensor hidden =
            per_lead_ ? ecgbench::masked::per_lead_random_mask(*grid_, b, ratio_, batch.signals.options())
                      : ecgbench::masked::random_token_mask(present, ratio_);
        const at::Tensor tokens = encoder.encode({batch.signals, batch.lead_present, hidden}).tokens;
        if (!tokens.defined() || tokens.dim() != 3 || tokens.size(1) != grid_->tokens())
            throw std::runtime_error("st_mem: the encoder returned no tokens [B, " + std::to_string(grid_->tokens()) +
                                     ", D]");
        const at::Tensor prediction = decoder_->forward(tokens, hidden, present);
        at::Tensor target = grid_->patches(batch.signals);
        if (normalise_) target = ecgbench::normalise_patches(target);
        const at::Tensor scored = hidden & present;
        const at::Tensor mse = ecgbench::masked_mse_loss(prediction, target, scored);
        const at::Tensor share = scored.sum().to(at::kFloat) / present.sum().clamp_min(1).to(at::kFloat);
        return {mse, {{"reconstruction", mse.detach()}, {"hidden_share", share}}};
    }

private:
    bool per_lead_;
    double ratio_;
    bool normalise_;
    ecgbench::masked::DecoderShape shape_;
    std::optional<TokenGrid> grid_;
    std::shared_ptr<TokenDecoder> decoder_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {
        "st_mem",
        ecgbench::PluginKind::Ssl,
        "1.0.0",
        "ST-MEM (Na et al. 2024): patches hidden per lead at random times, the encoder sees visible tokens only, a "
        "lead-wise transformer decoder reconstructs hidden patches (MSE); variant mae = MAE's uniform masking",
        {param::choice("variant", "st_mem", {"st_mem", "mae"},
                       "st_mem: the same share hidden in every lead at random times, lead-wise decoder; mae: tokens "
                       "hidden uniformly over leads and time, one decoder over all tokens"),
         param::real("mask_ratio", 0.75, "share of patches hidden (ST-MEM, MAE: 0.75)").between(0.05, 0.95),
         param::flag("normalise_targets", true,
                     "reconstruct per-patch normalised samples (MAE's norm_pix_loss; ST-MEM: on)"),
         param::integer("decoder_width", 256, "decoder token width (ST-MEM: 256)").between(8, 4096),
         param::integer("decoder_depth", 4, "decoder transformer blocks (ST-MEM: 4)").between(1, 32),
         param::integer("decoder_heads", 4, "decoder attention heads; must divide decoder_width (ST-MEM: 4)")
             .between(1, 64)},
        /*needs=*/{"tokens", "token_spans"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> {
        return std::make_shared<StMem>(p);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
