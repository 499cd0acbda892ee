// vit1d: the ViT encoder of ST-MEM (Na et al. 2024, "Guiding masked representation learning to
// capture spatio-temporal relationship of electrocardiogram", ICLR), for any subset of leads.
//
//   patches    each read lead (param `leads`) is cut into P = ⌊T / patch_size⌋ non-overlapping
//              patches (trailing samples beyond P · patch_size are not read)
//   embedding  one patch embedding shared by every lead: LayerNorm(patch) – Linear – LayerNorm(width)
//              (ST-MEM's), plus a learned position embedding (P + 2 rows, initialised with ST-MEM's
//              sine-cosine codes) and a learned embedding per lead
//   [SEP]      each lead's patch sequence is framed by two boundary tokens: one learned [SEP]
//              embedding plus the first / last position embedding plus the lead's embedding, so a
//              lead's tokens are delimited wherever the lead sits in the sequence
//   blocks     `depth` pre-norm transformer blocks (encoders/common/transformer.hpp) over the
//              tokens of every lead together, then LayerNorm
//   outputs    tokens [B, leads × P, width], lead-major (token l · P + p is patch p of lead l);
//              pooled = the mean of the kept patch tokens (the [SEP] tokens are not pooled, as in
//              ST-MEM)
//
// Absent leads and hidden tokens are not zero-filled: a lead marked absent in lead_present and a
// token hidden by token_mask (masked modelling: the encoder sees visible tokens only, as MAE's)
// are left out of the sequence. Each record's kept tokens (its visible patch tokens and the [SEP]
// tokens of its present leads) are gathered to the front, the batch is padded to the longest
// record, and padding is excluded from attention by a key padding mask. Their positions in
// `tokens` are 0, and they do not count towards the pooled mean. A record with no patch token to
// encode is an error.
//
// Sizes (param `size`; parameter counts for 12 leads × 2250 samples, patch 75 — ST-MEM's input of
// 9 s at 250 Hz — pinned by the unit tests):
//   XS  width 64,   depth 4,  4 heads, MLP 256    ->    208,086 params (tests, quick runs)
//   S   width 384,  depth 12, 6 heads, MLP 1536   -> 21,341,718 params (ST-MEM's ViT-S)
//   M   width 768,  depth 12, 12 heads, MLP 3072  -> 85,150,614 params (ST-MEM's ViT-B)
//   L   width 1024, depth 24, 16 heads, MLP 4096  -> 302,437,526 params (the ViT-L layout)
// A count is 4·w² + 2·w·m + 9·w + m per block, plus 2·patch + (patch + 1)·w + 2·w (patch
// embedding), (P + 2)·w (positions), w ([SEP]), leads·w (lead embeddings) and 2·w (final norm).
//
// What it simplifies relative to ST-MEM: no dropout or stochastic depth; the position embedding is
// learned from its sine-cosine start (ST-MEM freezes it in pretraining); lead embeddings are per
// lead read, not per canonical lead name, so an encoder is evaluated on the leads it read.
#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "common/lead_input.hpp"
#include "common/transformer.hpp"
#include "ecgbench/plugin.hpp"

namespace {

namespace nn = torch::nn;
using ecgbench::encoders::TransformerStack;

struct Architecture {
    std::int64_t width, depth, heads, mlp;
};

Architecture architecture(const std::string& size) {
    if (size == "XS") return {64, 4, 4, 256};
    if (size == "S") return {384, 12, 6, 1536};
    if (size == "M") return {768, 12, 12, 3072};
    if (size == "L") return {1024, 24, 16, 4096};
    throw std::invalid_argument("vit1d: unknown size '" + size + "' (expected XS, S, M or L)");
}

class Vit1d : public ecgbench::Encoder {
public:
    Vit1d(const ecgbench::Params& params, const ecgbench::EncoderInput& input)
        : columns_(ecgbench::encoders::selected_columns("vit1d", params, input)),
          input_leads_(input.leads),
          patch_(params.get_int("patch_size")),
          positions_(input.samples / patch_),
          arch_(architecture(params.get_string("size"))) {
        if (positions_ < 1)
            throw std::invalid_argument(
                "vit1d: records of " + std::to_string(input.samples) +
                " samples are shorter than one patch (param 'patch_size' = " + std::to_string(patch_) + ")");
        const std::int64_t w = arch_.width, leads = static_cast<std::int64_t>(columns_.size());
        patch_norm_ = register_module("patch_norm", nn::LayerNorm(nn::LayerNormOptions({patch_})));
        patch_embed_ = register_module("patch_embed", nn::Linear(patch_, w));
        embed_norm_ = register_module("embed_norm", nn::LayerNorm(nn::LayerNormOptions({w})));
        blocks_ = std::make_unique<TransformerStack>(*this, "blocks", arch_.depth, w, arch_.heads, arch_.mlp);
        norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({w})));
        ecgbench::encoders::initialise_transformer(*this);
        // ST-MEM: sine-cosine positions with zero rows for the two [SEP] slots; N(0, 0.02) [SEP]
        // and lead embeddings.
        at::Tensor positions = at::zeros({positions_ + 2, w});
        positions.narrow(0, 1, positions_).copy_(ecgbench::encoders::sincos_positions(positions_, w));
        position_ = register_parameter("position", positions);
        sep_ = register_parameter("sep", at::randn({w}) * 0.02);
        lead_ = register_parameter("lead", at::randn({leads, w}) * 0.02);
    }

    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& batch) override {
        const at::Tensor& signals = batch.signals;
        if (signals.dim() != 3 || signals.size(1) != input_leads_ || signals.size(2) < positions_ * patch_)
            throw std::invalid_argument("vit1d: expected signals [B, " + std::to_string(input_leads_) + ", ≥ " +
                                        std::to_string(positions_ * patch_) + "], got " +
                                        std::to_string(signals.dim()) + "-d input");
        const std::int64_t b = signals.size(0), leads = static_cast<std::int64_t>(columns_.size()), p = positions_,
                           w = arch_.width;
        const at::Tensor columns = at::tensor(columns_, signals.options().dtype(at::kLong));
        const at::Tensor patches =
            signals.index_select(1, columns).narrow(2, 0, p * patch_).reshape({b, leads, p, patch_});

        // Which tokens each record keeps: patch tokens of present leads not hidden, [SEP] of present leads.
        at::Tensor present = at::ones({b, leads}, signals.options().dtype(at::kBool));
        if (batch.lead_present.defined()) {
            if (batch.lead_present.sizes() != at::IntArrayRef({b, input_leads_}))
                throw std::invalid_argument("vit1d: lead_present must be [B, " + std::to_string(input_leads_) + "]");
            present = batch.lead_present.to(signals.device()).to(at::kBool).index_select(1, columns);
        }
        at::Tensor visible = present.unsqueeze(-1).expand({b, leads, p});
        if (batch.token_mask.defined()) {
            if (batch.token_mask.sizes() != at::IntArrayRef({b, leads * p}))
                throw std::invalid_argument("vit1d: token_mask must be [B, " + std::to_string(leads * p) + "]");
            visible = visible & batch.token_mask.to(signals.device()).to(at::kBool).logical_not().view({b, leads, p});
        }
        const at::Tensor visible_count = visible.sum({1, 2});
        if (visible_count.eq(0).any().item<bool>())
            throw std::invalid_argument(
                "vit1d: a record has no token to encode (every lead absent or every token hidden)");

        // Embed every position, then frame each lead with its [SEP] tokens: [B, leads, P + 2, w].
        const at::Tensor lead = lead_.view({1, leads, 1, w});
        const at::Tensor tokens = embed_norm_->forward(patch_embed_->forward(patch_norm_->forward(patches))) +
                                  position_.narrow(0, 1, p).view({1, 1, p, w}) + lead;
        const at::Tensor left = (sep_ + position_[0]).view({1, 1, 1, w}) + lead;
        const at::Tensor right = (sep_ + position_[p + 1]).view({1, 1, 1, w}) + lead;
        const at::Tensor sequence = at::cat({left.expand({b, leads, 1, w}), tokens, right.expand({b, leads, 1, w})}, 2)
                                        .reshape({b, leads * (p + 2), w});
        const at::Tensor framed = present.unsqueeze(-1);
        const at::Tensor keep = at::cat({framed, visible, framed}, 2).reshape({b, leads * (p + 2)});

        // Kept tokens first (in sequence order), padded to the longest record.
        const at::Tensor kept = keep.sum(1);
        const std::int64_t longest = kept.max().item<std::int64_t>();
        const at::Tensor order =
            std::get<1>(keep.to(at::kInt).sort(/*stable=*/true, /*dim=*/1, /*descending=*/true)).narrow(1, 0, longest);
        const at::Tensor padding = at::arange(longest, order.options()).unsqueeze(0) >= kept.unsqueeze(1);
        const at::Tensor gather_index = order.unsqueeze(-1).expand({b, longest, w});
        at::Tensor h = blocks_->forward(sequence.gather(1, gather_index), padding);
        h = norm_->forward(h);
        if (longest > kept.min().item<std::int64_t>()) h = h.masked_fill(padding.unsqueeze(-1), 0.0);

        // Back to every position (left-out ones 0), [SEP] dropped.
        const at::Tensor full = at::zeros({b, leads * (p + 2), w}, h.options()).scatter(1, gather_index, h);
        const at::Tensor out = full.view({b, leads, p + 2, w}).narrow(2, 1, p).reshape({b, leads * p, w});
        const at::Tensor pooled = out.sum(1) / visible_count.unsqueeze(1).to(out.scalar_type());
        return {pooled, out};
    }

    std::int64_t embedding_dim() const override { return arch_.width; }
    std::int64_t token_count() const override { return static_cast<std::int64_t>(columns_.size()) * positions_; }
    std::vector<ecgbench::TokenSpan> token_spans() const override {
        std::vector<ecgbench::TokenSpan> spans;
        for (std::int64_t column : columns_)
            for (std::int64_t p = 0; p < positions_; ++p) spans.push_back({column, p * patch_, patch_});
        return spans;
    }

private:
    std::vector<std::int64_t> columns_;
    std::int64_t input_leads_, patch_, positions_;
    Architecture arch_;
    nn::LayerNorm patch_norm_{nullptr}, embed_norm_{nullptr}, norm_{nullptr};
    nn::Linear patch_embed_{nullptr};
    std::unique_ptr<TransformerStack> blocks_;
    at::Tensor position_, sep_, lead_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {
        "vit1d",
        ecgbench::PluginKind::Encoder,
        "1.0.0",
        "ST-MEM's ViT (Na et al. 2024): per-lead patches, shared patch embedding, lead and position embeddings, "
        "[SEP] tokens per lead, pre-norm transformer; absent leads and hidden tokens are left out of attention",
        std::vector<ecgbench::ParamSpec>{
            param::choice("size", "S", {"XS", "S", "M", "L"},
                          "params for 12 leads x 2250 samples, patch 75: XS width 64, depth 4, 4 heads (208,086); "
                          "S 384, 12, 6 (21,341,718; ST-MEM ViT-S); M 768, 12, 12 (85,150,614; ViT-B); L 1024, 24, 16 "
                          "(302,437,526)"),
            param::integer("patch_size", 75, "samples per patch (ST-MEM: 75 at 250 Hz, 0.3 s)").between(2, 100000),
            ecgbench::encoders::leads_param()},
        /*needs=*/{},
        /*provides=*/{"tokens", "token_spans"}};
    d.make_encoder = [](const ecgbench::Params& p, const ecgbench::EncoderInput& in) -> ecgbench::EncoderPtr {
        return std::make_shared<Vit1d>(p, in);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
