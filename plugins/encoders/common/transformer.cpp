#include "common/transformer.hpp"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace ecgbench::encoders {

namespace nn = torch::nn;

TransformerBlock::TransformerBlock(std::int64_t width, std::int64_t heads, std::int64_t mlp_width) : heads_(heads) {
    if (heads < 1 || width % heads != 0)
        throw std::invalid_argument("transformer: width " + std::to_string(width) + " is not divisible by " +
                                    std::to_string(heads) + " heads");
    norm1_ = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({width})));
    qkv_ = register_module("qkv", nn::Linear(width, 3 * width));
    proj_ = register_module("proj", nn::Linear(width, width));
    norm2_ = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({width})));
    fc1_ = register_module("fc1", nn::Linear(width, mlp_width));
    fc2_ = register_module("fc2", nn::Linear(mlp_width, width));
}

at::Tensor TransformerBlock::forward(const at::Tensor& x, const at::Tensor& key_padding) {
    const std::int64_t b = x.size(0), n = x.size(1), width = x.size(2), head_width = width / heads_;
    // [B, N, 3, heads, d] -> 3 × [B, heads, N, d]
    const at::Tensor qkv =
        qkv_->forward(norm1_->forward(x)).view({b, n, 3, heads_, head_width}).permute({2, 0, 3, 1, 4});
    const at::Tensor q = qkv[0], k = qkv[1], v = qkv[2];
    at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head_width));
    if (key_padding.defined())
        scores = scores.masked_fill(key_padding.view({b, 1, 1, n}), -std::numeric_limits<float>::infinity());
    const at::Tensor attended = at::matmul(scores.softmax(-1), v).transpose(1, 2).reshape({b, n, width});
    const at::Tensor y = x + proj_->forward(attended);
    return y + fc2_->forward(at::gelu(fc1_->forward(norm2_->forward(y))));
}

TransformerStack::TransformerStack(nn::Module& parent, const std::string& name, std::int64_t depth, std::int64_t width,
                                   std::int64_t heads, std::int64_t mlp_width) {
    auto holder = parent.register_module(name, std::make_shared<nn::Module>());
    for (std::int64_t i = 0; i < depth; ++i)
        blocks_.push_back(
            holder->register_module(std::to_string(i), std::make_shared<TransformerBlock>(width, heads, mlp_width)));
}

at::Tensor TransformerStack::forward(at::Tensor x, const at::Tensor& key_padding) const {
    // A mask that pads nothing (every lead present, the same number of tokens kept per record) is
    // dropped: masked_fill on every block's [B, heads, N, N] scores, and its backward, would change
    // nothing but cost a pass over the scores.
    const at::Tensor padding = key_padding.defined() && key_padding.any().item<bool>() ? key_padding : at::Tensor();
    for (const auto& block : blocks_) x = block->forward(x, padding);
    return x;
}

void initialise_transformer(nn::Module& module) {
    torch::NoGradGuard no_grad;
    for (auto& m : module.modules(/*include_self=*/false)) {
        if (auto* linear = m->as<nn::Linear>()) {
            nn::init::xavier_uniform_(linear->weight);
            if (linear->bias.defined()) nn::init::zeros_(linear->bias);
        } else if (auto* norm = m->as<nn::LayerNorm>()) {
            nn::init::ones_(norm->weight);
            nn::init::zeros_(norm->bias);
        }
    }
}

at::Tensor sincos_positions(std::int64_t positions, std::int64_t width) {
    if (width % 2 != 0)
        throw std::invalid_argument("sincos_positions: width must be even, got " + std::to_string(width));
    const at::Tensor omega = at::pow(10000.0, -at::arange(width / 2, at::kDouble) / (width / 2.0));
    const at::Tensor angle = at::arange(positions, at::kDouble).unsqueeze(1) * omega.unsqueeze(0);
    return at::cat({angle.sin(), angle.cos()}, 1).to(at::kFloat);
}

}  // namespace ecgbench::encoders
