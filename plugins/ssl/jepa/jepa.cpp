// jepa: joint-embedding predictive architecture for ECG (ECG-JEPA; Weimann & Conrad 2024,
// "Self-supervised pre-training with joint-embedding predictive architecture boosts ECG
// classification performance"; after I-JEPA, Assran et al. 2023). No pixel reconstruction: the
// model predicts the latent representations of hidden blocks from the visible context.
//
//   masks      per record, the union of `blocks` runs of consecutive patch positions (each
//              ⌊P · f⌋ long, f ~ U(block_min, block_max), ECG-JEPA's multi-block masking) hidden in
//              every lead (common/token_grid.hpp); at least one position stays visible. With
//              `masking` = "per_lead", ST-MEM's masking instead: ⌊P · mask_ratio⌋ patches hidden in
//              every lead at random times (not ECG-JEPA's: the context then holds the other leads
//              at a hidden moment; on the synthetic held-out test it gains at 1,050 steps, +0.044,
//              where blocks need 2,100, +0.041 — docs/results.md)
//   context    the encoder on the visible tokens only (EncoderBatch::token_mask)
//   targets    a target encoder (a host-made copy of the encoder, frozen, PretrainContext::
//              copy_encoder) on the whole record; its tokens layer-normalised over features
//              (no affine), without gradients
//   predictor  a narrow transformer (common/token_decoder.hpp, per lead as ECG-JEPA's): context
//              tokens → `predictor_width`, a learned mask token at hidden positions plus position
//              and lead embeddings, `predictor_depth` pre-norm blocks, back to the encoder width
//   loss       smooth L1 (β = 1, ECG-JEPA's) between predictions and targets on hidden tokens of
//              present leads (ecgbench::masked_smooth_l1_loss)
//   EMA        after every optimiser step the target follows the encoder, ξ ← τ·ξ + (1 − τ)·θ,
//              τ rising linearly from `tau_base` to 1 over the run (I-JEPA's schedule)
// Stored terms: "hidden_share" (share of present-lead tokens hidden).
//
// What it simplifies relative to ECG-JEPA: the encoder attends over all its tokens (ECG-JEPA's
// cross-pattern attention restricts a token to its lead and its time step); one mask per record
// rather than one per batch; learned position embeddings (ECG-JEPA: fixed sine-cosine or RoPE);
// the host's optimiser and schedule.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>

#include "common/token_decoder.hpp"
#include "common/token_grid.hpp"
#include "ecgbench/ema.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

namespace {

using ecgbench::masked::TokenDecoder;
using ecgbench::masked::TokenGrid;

class Jepa : public ecgbench::SslMethod {
public:
    explicit Jepa(const ecgbench::Params& p)
        : per_lead_(p.get_string("masking") == "per_lead"),
          ratio_(p.get_float("mask_ratio")),
          blocks_(p.get_int("blocks")),
          block_min_(p.get_float("block_min")),
          block_max_(p.get_float("block_max")),
          tau_base_(p.get_float("tau_base")),
          shape_{p.get_int("predictor_width"), p.get_int("predictor_depth"), p.get_int("predictor_heads")} {
        if (block_min_ > block_max_)
            throw std::invalid_argument("jepa: param 'block_min' (" + std::to_string(block_min_) +
                                        ") exceeds 'block_max' (" + std::to_string(block_max_) + ")");
        if (shape_.width % shape_.heads != 0)
            throw std::invalid_argument("jepa: param 'predictor_width' (" + std::to_string(shape_.width) +
                                        ") must be divisible by 'predictor_heads' (" + std::to_string(shape_.heads) +
                                        ")");
    }

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        grid_.emplace("jepa", encoder, context.input);
        if (!context.copy_encoder)
            throw std::invalid_argument("jepa: the host gave no copy_encoder (needed for the target encoder)");
        // Registered, so it is saved and moved with the method; frozen, so the optimiser leaves it alone.
        target_ = register_module("target_encoder", context.copy_encoder());
        for (auto& p : target_->parameters()) p.set_requires_grad(false);
        const std::int64_t width = ecgbench::masked::token_width("jepa", encoder, context.input);
        predictor_ = register_module("predictor",
                                     std::make_shared<TokenDecoder>(*grid_, width, width, shape_, /*per_lead=*/true));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!predictor_) throw std::logic_error("jepa: loss() called before setup()");
        const std::int64_t b = batch.size();
        const at::Tensor present = grid_->present(batch.lead_present, b, batch.signals.device());
        const at::Tensor hidden =
            per_lead_ ? ecgbench::masked::per_lead_random_mask(*grid_, b, ratio_, batch.signals.options())
                      : ecgbench::masked::time_block_mask(*grid_, b, blocks_, block_min_, block_max_,
                                                          batch.signals.options());
        const at::Tensor context = encoder.encode({batch.signals, batch.lead_present, hidden}).tokens;
        if (!context.defined() || context.dim() != 3 || context.size(1) != grid_->tokens())
            throw std::runtime_error("jepa: the encoder returned no tokens [B, " + std::to_string(grid_->tokens()) +
                                     ", D]");
        at::Tensor target;
        {
            torch::NoGradGuard no_grad;
            const at::Tensor t = target_->encode({batch.signals, batch.lead_present, {}}).tokens;
            target = at::layer_norm(t, {t.size(2)});
        }
        const at::Tensor scored = hidden & present;
        const at::Tensor l1 =
            ecgbench::masked_smooth_l1_loss(predictor_->forward(context, hidden, present), target, scored);
        const at::Tensor share = scored.sum().to(at::kFloat) / present.sum().clamp_min(1).to(at::kFloat);
        return {l1, {{"prediction", l1.detach()}, {"hidden_share", share}}};
    }

    void on_step_end(ecgbench::Encoder& encoder, const ecgbench::StepState& state) override {
        const double progress = std::clamp(
            static_cast<double>(state.step) / static_cast<double>(std::max<std::int64_t>(1, state.total_steps)), 0.0,
            1.0);
        const double tau = tau_base_ + (1 - tau_base_) * progress;
        ecgbench::ema_update(encoder.parameters(), target_->parameters(), tau, "jepa");
    }

private:
    bool per_lead_;
    double ratio_;
    std::int64_t blocks_;
    double block_min_, block_max_, tau_base_;
    ecgbench::masked::DecoderShape shape_;
    std::optional<TokenGrid> grid_;
    ecgbench::EncoderPtr target_;
    std::shared_ptr<TokenDecoder> predictor_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {
        "jepa",
        ecgbench::PluginKind::Ssl,
        "1.1.0",
        "ECG-JEPA (Weimann & Conrad 2024): a predictor regresses an EMA target encoder's layer-normalised tokens of "
        "hidden time blocks from the visible context (smooth L1), no reconstruction",
        {param::choice("masking", "blocks", {"blocks", "per_lead"},
                       "blocks: ECG-JEPA's time blocks hidden in every lead; per_lead: ST-MEM's random patches per lead"),
         param::real("mask_ratio", 0.75, "share of each lead's patches hidden with masking = per_lead").between(0.05, 0.95),
         param::integer("blocks", 4, "time blocks per record whose union is hidden in every lead (ECG-JEPA: 4)")
             .between(1, 64),
         param::real("block_min", 0.15, "shortest block, share of the patch positions (ECG-JEPA: 0.15)")
             .between(0.01, 1),
         param::real("block_max", 0.2, "longest block, share of the patch positions (ECG-JEPA: 0.2)").between(0.01, 1),
         param::real("tau_base", 0.996,
                     "EMA rate of the target encoder at the first step; rises linearly to 1 (I-JEPA: 0.996)")
             .between(0, 1),
         param::integer("predictor_width", 192, "predictor token width (ECG-JEPA: 192)").between(8, 4096),
         param::integer("predictor_depth", 4, "predictor transformer blocks (ECG-JEPA: 4)").between(1, 32),
         param::integer("predictor_heads", 6, "predictor attention heads; must divide predictor_width (ECG-JEPA: 6)")
             .between(1, 64)},
        /*needs=*/{"tokens", "token_spans"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> {
        return std::make_shared<Jepa>(p);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
