// The light transformer after a masked-token encoder: ST-MEM's / MAE's decoder (tokens → patch
// samples) and ECG-JEPA's predictor (context tokens → target-encoder tokens). Encoder tokens
// [B, N, in] go through Linear(in → width); hidden tokens are replaced by one learned mask token;
// each token gets a learned position embedding (initialised with sine-cosine codes, as MAE's fixed
// ones) and a learned lead embedding of its grid cell; `depth` pre-norm transformer blocks; LayerNorm;
// Linear(width → out).
//
// `per_lead` = true decodes each lead row on its own (ST-MEM's lead-wise decoding, ECG-JEPA's
// per-lead predictor): attention stays within a lead. false decodes all tokens of a record
// together (MAE), the tokens of absent leads excluded from attention.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <memory>

#include "common/token_grid.hpp"
#include "common/transformer.hpp"

namespace ecgbench::masked {

struct DecoderShape {
    std::int64_t width = 256, depth = 4, heads = 4;
};

class TokenDecoder : public torch::nn::Module {
public:
    TokenDecoder(const TokenGrid& grid, std::int64_t in, std::int64_t out, const DecoderShape& shape, bool per_lead);
    /// tokens: [B, N, in]; hidden, present: bool [B, N] (token hidden from the encoder; token of a
    /// present lead). Returns [B, N, out] for every token.
    at::Tensor forward(const at::Tensor& tokens, const at::Tensor& hidden, const at::Tensor& present);

private:
    TokenGrid grid_;
    bool per_lead_;
    std::int64_t width_;
    torch::nn::Linear embed_{nullptr}, head_{nullptr};
    torch::nn::LayerNorm norm_{nullptr};
    std::unique_ptr<encoders::TransformerStack> blocks_;
    at::Tensor mask_token_, position_, lead_;
};

}  // namespace ecgbench::masked
