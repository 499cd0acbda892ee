// Pre-norm transformer blocks, as in ViT (Dosovitskiy et al. 2021) and the ST-MEM / MAE / JEPA
// encoders and decoders built on it: x ← x + Attention(LN(x)), x ← x + MLP(LN(x)), MLP =
// Linear – GELU – Linear. Multi-head self-attention is written with tensor primitives (LibTorch
// 1.13 has no fused attention, and torch::nn::MultiheadAttention wants sequence-first layouts),
// with a key padding mask so sequences of different lengths share a batch: a padded position is
// never attended to (its own output is computed and meaningless; callers drop it).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace ecgbench::encoders {

class TransformerBlock : public torch::nn::Module {
public:
    /// `width` must be divisible by `heads`. Parameters: 4·width² + 2·width·mlp_width + 9·width + mlp_width.
    TransformerBlock(std::int64_t width, std::int64_t heads, std::int64_t mlp_width);
    /// x: float [B, N, width]; key_padding: bool [B, N], true = padding (undefined = none). Every
    /// row needs at least one position that is not padding.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& key_padding = {});

private:
    std::int64_t heads_;
    torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
    torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
};

/// `depth` blocks registered as "0", "1", … of a parent module.
class TransformerStack {
public:
    TransformerStack(torch::nn::Module& parent, const std::string& name, std::int64_t depth, std::int64_t width,
                     std::int64_t heads, std::int64_t mlp_width);
    at::Tensor forward(at::Tensor x, const at::Tensor& key_padding = {}) const;

private:
    std::vector<std::shared_ptr<TransformerBlock>> blocks_;
};

/// ViT / MAE initialisation of the Linear and LayerNorm layers below a module (not the module itself,
/// which may be under construction): Xavier-uniform weights, zero biases, LayerNorm as identity.
void initialise_transformer(torch::nn::Module& module);

/// Fixed 1-D sine-cosine position codes (Vaswani et al. 2017; MAE, ST-MEM): [positions, width],
/// row p = [sin(p·ω_0) … sin(p·ω_{w/2−1}), cos(p·ω_0) … cos(p·ω_{w/2−1})], ω_i = 10000^(−2i/width).
/// `width` must be even.
at::Tensor sincos_positions(std::int64_t positions, std::int64_t width);

}  // namespace ecgbench::encoders
