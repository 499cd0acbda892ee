// mtfp: masked reconstruction in time and frequency with multi-grained prototype targets, after
// "Masked Autoencoders that Feel the Heart: Unveiling Simplicity Bias for ECG Analyses" (Xu, Gao,
// Li, Wei & Liu 2025, arXiv 2506.22495): masked modelling whose targets span both domains and two
// granularities, so the encoder cannot settle for the dominant, repetitive patterns alone.
//
// Per batch (st_mem's machinery, common/token_grid.hpp and common/token_decoder.hpp):
//   masks      ⌊P · mask_ratio⌋ patches hidden in every lead at random times (ST-MEM's masking);
//              the encoder sees the visible tokens only (EncoderBatch::token_mask)
//   decoder    a light transformer over each lead's tokens on its own (ST-MEM's lead-wise
//              decoding; `lead_wise_decoder` = false: one over all tokens of a record, MAE's; absent
//              leads excluded), a learned mask token at hidden positions, whose head gives per
//              token the patch's samples, its spectrum and its beat-prototype logits
//   time       MSE on hidden patches of present leads against the samples, per-patch normalised
//              with `normalise_targets` (MAE's norm_pix_loss; ecgbench::normalise_patches)
//   frequency  MSE on the same patches against log(1 + |rFFT|) (orthonormal) of that time target
//              (common/spectrum.hpp), ⌊patch/2⌋ + 1 bins; weight `freq_weight`
//   prototypes targets come from the encoder on the whole, unmasked record, without gradients:
//              beat level   each token of a hidden patch: soft assignment of its full-view token
//                           to `beat_prototypes` prototypes, softmax(cos / `temperature`); the
//                           decoder predicts it from the masked view
//              rhythm level each record: soft assignment of its full-view pooled embedding to
//                           `rhythm_prototypes` prototypes; a linear head on the masked view's
//                           pooled embedding predicts it
//              loss = `proto_weight` · (CE_beat + CE_rhythm), soft-target cross-entropy
//              (common/prototypes.hpp)
//   total      time + freq_weight · frequency + proto_weight · (beat + rhythm)
// The prototypes are method state: unit-length registered buffers "beat_prototypes" [K_beat, D_tok]
// and "rhythm_prototypes" [K_rhythm, D], with idle-step counters "beat_idle" / "rhythm_idle", all
// saved in the checkpoint. on_step_end refreshes them from the step's full-view embeddings (tokens
// of present leads; pooled embeddings) by one online k-means step (update_prototypes): each
// embedding goes to its nearest prototype, which moves c ← normalise(m · c + (1 − m) · mean of its
// embeddings), m = `momentum`. Counters start at −1 (never placed), so the first step initialises
// every prototype from that step's embeddings; with `reinit_after` > 0 a prototype that has won no
// embedding for that many steps restarts at a random embedding of the step. Off by default: on the
// synthetic held-out test, restarts every 50 steps kept re-labelling the targets, the prototype
// cross-entropies stayed at log K and held the reconstruction on its plateau (probe 0.659 vs 0.732
// without restarts; docs/results.md). Stored terms: "time", "frequency", "beat_prototypes",
// "rhythm_prototypes", "beat_target_entropy" / "rhythm_target_entropy" (mean entropy of the soft
// targets: log K when they carry nothing), "hidden_share".
//
// What it simplifies relative to the paper: the encoder is whatever patch encoder the experiment
// names (vit1d), without the paper's learnable temporal-frequency aware filter layers — frequency
// awareness enters through the spectral target only; the frequency target is each patch's log
// magnitude spectrum rather than the paper's own transform; beat level = patch tokens and rhythm
// level = the pooled record (no QRS-based beat segmentation); prototypes are an online k-means over
// the encoder's own stop-gradient embeddings (no separate target network, no contrastive term);
// the host's optimiser and schedule.
#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <memory>
#include <optional>
#include <stdexcept>

#include "common/prototypes.hpp"
#include "common/spectrum.hpp"
#include "common/token_decoder.hpp"
#include "common/token_grid.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

namespace {

using ecgbench::masked::TokenDecoder;
using ecgbench::masked::TokenGrid;

at::Tensor unit_random(std::int64_t rows, std::int64_t width) {
    const at::Tensor x = at::randn({rows, width});
    return x / x.norm(2, 1, /*keepdim=*/true);
}

/// Rows of flattened [B, N, ...] where `selected` [B, N] is true.
at::Tensor selected_rows(const at::Tensor& x, const at::Tensor& selected) {
    return x.flatten(0, 1).index_select(0, selected.flatten().nonzero().view({-1}));
}

/// Mean over rows of the entropy of soft assignments [M, K]: log K when the targets carry nothing.
at::Tensor mean_entropy(const at::Tensor& q) {
    if (q.size(0) == 0) return at::zeros({}, q.options());
    return -(q * q.clamp_min(1e-12).log()).sum(1).mean().detach();
}

class Mtfp : public ecgbench::SslMethod {
public:
    explicit Mtfp(const ecgbench::Params& p)
        : ratio_(p.get_float("mask_ratio")),
          freq_weight_(p.get_float("freq_weight")),
          proto_weight_(p.get_float("proto_weight")),
          beat_k_(p.get_int("beat_prototypes")),
          rhythm_k_(p.get_int("rhythm_prototypes")),
          temperature_(p.get_float("temperature")),
          momentum_(p.get_float("momentum")),
          reinit_after_(p.get_int("reinit_after")),
          normalise_(p.get_bool("normalise_targets")),
          lead_wise_(p.get_bool("lead_wise_decoder")),
          shape_{p.get_int("decoder_width"), p.get_int("decoder_depth"), p.get_int("decoder_heads")} {
        if (shape_.width % shape_.heads != 0)
            throw std::invalid_argument("mtfp: param 'decoder_width' (" + std::to_string(shape_.width) +
                                        ") must be divisible by 'decoder_heads' (" + std::to_string(shape_.heads) +
                                        ")");
    }

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        grid_.emplace("mtfp", encoder, context.input);
        if (grid_->patch() < 2)
            throw std::invalid_argument("mtfp: the spectral target needs patches of at least 2 samples");
        bins_ = grid_->patch() / 2 + 1;
        const std::int64_t width = ecgbench::masked::token_width("mtfp", encoder, context.input);
        decoder_ = register_module(
            "decoder", std::make_shared<TokenDecoder>(*grid_, width, grid_->patch() + bins_ + beat_k_, shape_, lead_wise_));
        rhythm_head_ = register_module("rhythm_head", torch::nn::Linear(context.embedding_dim, rhythm_k_));
        beat_prototypes_ = register_buffer("beat_prototypes", unit_random(beat_k_, width));
        rhythm_prototypes_ = register_buffer("rhythm_prototypes", unit_random(rhythm_k_, context.embedding_dim));
        beat_idle_ = register_buffer("beat_idle", at::full({beat_k_}, -1, at::kLong));
        rhythm_idle_ = register_buffer("rhythm_idle", at::full({rhythm_k_}, -1, at::kLong));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!decoder_) throw std::logic_error("mtfp: loss() called before setup()");
        const std::int64_t b = batch.size(), patch = grid_->patch();
        const at::Tensor present = grid_->present(batch.lead_present, b, batch.signals.device());
        const at::Tensor hidden = ecgbench::masked::per_lead_random_mask(*grid_, b, ratio_, batch.signals.options());
        const ecgbench::EncoderOutput masked = encoder.encode({batch.signals, batch.lead_present, hidden});
        check_tokens(masked.tokens);
        ecgbench::EncoderOutput full;
        {
            torch::NoGradGuard no_grad;
            full = encoder.encode({batch.signals, batch.lead_present, {}});
        }
        check_tokens(full.tokens);

        const at::Tensor out = decoder_->forward(masked.tokens, hidden, present);
        at::Tensor samples = grid_->patches(batch.signals);
        if (normalise_) samples = ecgbench::normalise_patches(samples);
        const at::Tensor scored = hidden & present;
        const at::Tensor time = ecgbench::masked_mse_loss(out.narrow(2, 0, patch), samples, scored);
        const at::Tensor frequency = ecgbench::masked_mse_loss(
            out.narrow(2, patch, bins_), ecgbench::masked::log_magnitude_spectrum(samples), scored);

        using ecgbench::masked::prototype_assignments;
        using ecgbench::masked::soft_cross_entropy;
        const at::Tensor beat_targets =
            prototype_assignments(selected_rows(full.tokens, scored), beat_prototypes_, temperature_);
        const at::Tensor rhythm_targets = prototype_assignments(full.pooled, rhythm_prototypes_, temperature_);
        const at::Tensor beat =
            soft_cross_entropy(selected_rows(out.narrow(2, patch + bins_, beat_k_), scored), beat_targets);
        const at::Tensor rhythm = soft_cross_entropy(rhythm_head_->forward(masked.pooled), rhythm_targets);
        // The step hook refreshes the prototypes from these (detached: computed without gradients).
        step_tokens_ = selected_rows(full.tokens, present);
        step_pooled_ = full.pooled;

        const at::Tensor total = time + freq_weight_ * frequency + proto_weight_ * (beat + rhythm);
        const at::Tensor share = scored.sum().to(at::kFloat) / present.sum().clamp_min(1).to(at::kFloat);
        return {total,
                {{"time", time.detach()},
                 {"frequency", frequency.detach()},
                 {"beat_prototypes", beat.detach()},
                 {"rhythm_prototypes", rhythm.detach()},
                 {"beat_target_entropy", mean_entropy(beat_targets)},
                 {"rhythm_target_entropy", mean_entropy(rhythm_targets)},
                 {"hidden_share", share}}};
    }

    void on_step_end(ecgbench::Encoder& encoder, const ecgbench::StepState& state) override {
        (void)encoder;
        (void)state;
        if (!step_tokens_.defined()) return;
        ecgbench::masked::update_prototypes(beat_prototypes_, beat_idle_, step_tokens_, momentum_, reinit_after_);
        ecgbench::masked::update_prototypes(rhythm_prototypes_, rhythm_idle_, step_pooled_, momentum_, reinit_after_);
        step_tokens_ = at::Tensor();
        step_pooled_ = at::Tensor();
    }

private:
    void check_tokens(const at::Tensor& tokens) const {
        if (!tokens.defined() || tokens.dim() != 3 || tokens.size(1) != grid_->tokens())
            throw std::runtime_error("mtfp: the encoder returned no tokens [B, " + std::to_string(grid_->tokens()) +
                                     ", D]");
    }

    double ratio_, freq_weight_, proto_weight_;
    std::int64_t beat_k_, rhythm_k_;
    double temperature_, momentum_;
    std::int64_t reinit_after_;
    bool normalise_, lead_wise_;
    ecgbench::masked::DecoderShape shape_;
    std::optional<TokenGrid> grid_;
    std::int64_t bins_ = 0;
    std::shared_ptr<TokenDecoder> decoder_;
    torch::nn::Linear rhythm_head_{nullptr};
    at::Tensor beat_prototypes_, rhythm_prototypes_, beat_idle_, rhythm_idle_;
    at::Tensor step_tokens_, step_pooled_;  ///< the last loss()'s full-view embeddings, for on_step_end
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {
        "mtfp",
        ecgbench::PluginKind::Ssl,
        "1.1.0",
        "MTFP (Xu et al. 2025, 'Masked Autoencoders that Feel the Heart'): patches hidden per lead, a decoder "
        "reconstructs their samples and log-magnitude spectra and predicts beat-level (token) prototype assignments; "
        "a head predicts rhythm-level (record) ones; prototypes are online k-means buffers over the unmasked view",
        {param::real("mask_ratio", 0.75, "share of each lead's patches hidden (ST-MEM's masking)").between(0.05, 0.95),
         param::real("freq_weight", 1.0, "weight of the spectral (log |rFFT|) reconstruction MSE").between(0, 100),
         param::real("proto_weight", 0.5, "weight of the beat + rhythm prototype cross-entropies").between(0, 100),
         param::integer("beat_prototypes", 64, "beat-level (per token) prototypes").between(2, 4096),
         param::integer("rhythm_prototypes", 16, "rhythm-level (per record) prototypes").between(2, 4096),
         param::real("temperature", 0.1, "softmax temperature of the soft assignments to prototypes (cosine / τ)")
             .between(0.01, 10),
         param::real("momentum", 0.99,
                     "online k-means momentum: c ← normalise(m · c + (1 − m) · mean of the embeddings assigned to c)")
             .between(0, 1),
         param::integer("reinit_after", 0,
                        "steps without an assigned embedding after which a prototype restarts at a random embedding "
                        "of the step; 0: never")
             .between(0, 1000000),
         param::flag("normalise_targets", true,
                     "reconstruct per-patch normalised samples (MAE's norm_pix_loss); the spectrum is taken of them"),
         param::flag("lead_wise_decoder", true,
                     "decode each lead's tokens on their own (ST-MEM's); false: one decoder over all leads (MAE's)"),
         param::integer("decoder_width", 256, "decoder token width (ST-MEM: 256)").between(8, 4096),
         param::integer("decoder_depth", 4, "decoder transformer blocks (ST-MEM: 4)").between(1, 32),
         param::integer("decoder_heads", 4, "decoder attention heads; must divide decoder_width (ST-MEM: 4)")
             .between(1, 64)},
        /*needs=*/{"tokens", "token_spans"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> {
        return std::make_shared<Mtfp>(p);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
