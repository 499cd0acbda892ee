#include "common/token_decoder.hpp"

#include <ATen/ATen.h>

namespace ecgbench::masked {

namespace nn = torch::nn;

TokenDecoder::TokenDecoder(const TokenGrid& grid, std::int64_t in, std::int64_t out, const DecoderShape& shape,
                           bool per_lead)
    : grid_(grid), per_lead_(per_lead), width_(shape.width) {
    embed_ = register_module("embed", nn::Linear(in, width_));
    blocks_ =
        std::make_unique<encoders::TransformerStack>(*this, "blocks", shape.depth, width_, shape.heads, 4 * width_);
    norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width_})));
    head_ = register_module("head", nn::Linear(width_, out));
    encoders::initialise_transformer(*this);
    mask_token_ = register_parameter("mask_token", at::randn({width_}) * 0.02);
    position_ = register_parameter("position", encoders::sincos_positions(grid.positions(), width_));
    lead_ = register_parameter("lead", at::randn({grid.leads(), width_}) * 0.02);
}

at::Tensor TokenDecoder::forward(const at::Tensor& tokens, const at::Tensor& hidden, const at::Tensor& present) {
    const std::int64_t b = tokens.size(0), leads = grid_.leads(), p = grid_.positions(), n = grid_.tokens();
    const auto device = tokens.device();
    at::Tensor x = at::where(hidden.unsqueeze(-1), mask_token_.view({1, 1, width_}), embed_->forward(tokens));
    x = x + position_.index_select(0, grid_.position().to(device)) + lead_.index_select(0, grid_.lead_row().to(device));
    // Grid order (lead rows of consecutive positions), decode, back to token order; vit1d's tokens
    // are already in grid order, so both reorderings are skipped there.
    const bool reorder = !grid_.token_order_is_grid_order();
    at::Tensor absent = present.logical_not();
    if (reorder) {
        x = x.index_select(1, grid_.grid_order().to(device));
        absent = absent.index_select(1, grid_.grid_order().to(device));
    }
    if (per_lead_) {
        x = blocks_->forward(x.reshape({b * leads, p, width_})).reshape({b, n, width_});
    } else {
        x = blocks_->forward(x, absent);
    }
    x = head_->forward(norm_->forward(x));
    return reorder ? x.index_select(1, grid_.cell().to(device)) : x;
}

}  // namespace ecgbench::masked
