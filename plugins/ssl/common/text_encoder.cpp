#include "common/text_encoder.hpp"

#include <torch/nn/modules/transformerlayer.h>
#include <torch/types.h>

#include <algorithm>
#include <stdexcept>

namespace ecgbench::text {

namespace nn = torch::nn;

TextTransformer::TextTransformer(const TextEncoderOptions& options) : options_(options) {
    if (options.width < 1 || options.heads < 1 || options.width % options.heads != 0)
        throw std::invalid_argument("text encoder: heads (" + std::to_string(options.heads) + ") must divide width (" +
                                    std::to_string(options.width) + ")");
    tokens_ = register_module("tokens", nn::Embedding(nn::EmbeddingOptions(options.vocab_size, options.width)
                                                          .padding_idx(Tokenizer::kPadId)));
    positions_ = register_module("positions", nn::Embedding(options.max_tokens, options.width));
    layers_ = register_module("layers", nn::ModuleList());
    for (std::int64_t i = 0; i < options.layers; ++i)
        layers_->push_back(nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(options.width, options.heads)
                                                           .dim_feedforward(4 * options.width)
                                                           .dropout(options.dropout)
                                                           .activation(torch::kGELU)));
    norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({options.width})));
}

at::Tensor TextTransformer::forward(const at::Tensor& ids) { return mean_over_tokens(tokens(ids), ids); }

at::Tensor mean_over_tokens(const at::Tensor& states, const at::Tensor& ids) {
    const at::Tensor keep = ids.ne(Tokenizer::kPadId).to(states.device()).unsqueeze(-1).to(states.scalar_type());
    return (states * keep).sum(1) / keep.sum(1);
}

at::Tensor TextTransformer::tokens(const at::Tensor& ids) {
    if (ids.dim() != 2 || ids.size(1) < 1 || ids.size(1) > options_.max_tokens)
        throw std::invalid_argument("text encoder: ids must be [N, L] with 1 <= L <= max_tokens");
    const at::Tensor padding = ids.eq(Tokenizer::kPadId);  // [N, L], true = no token
    if (padding.all(1).any().item<bool>()) throw std::invalid_argument("text encoder: a text has no token");
    if (ids.max().item<std::int64_t>() >= options_.vocab_size)
        throw std::invalid_argument("text encoder: a token id exceeds the vocabulary (" + std::to_string(options_.vocab_size) + ")");
    const at::Tensor position = torch::arange(ids.size(1), ids.options());
    at::Tensor x = (tokens_->forward(ids) + positions_->forward(position).unsqueeze(0)).transpose(0, 1);  // [L, N, W]
    for (const auto& layer : *layers_) x = layer->as<nn::TransformerEncoderLayer>()->forward(x, {}, padding);
    return norm_->forward(x.transpose(0, 1));  // [N, L, W]
}

at::Tensor token_ids(const Tokenizer& tokenizer, const std::vector<std::string>& texts, std::int64_t max_tokens) {
    std::vector<std::vector<int>> encoded;
    std::int64_t longest = 1;
    for (const auto& t : texts) {
        encoded.push_back(tokenizer.encode(t));
        if (static_cast<std::int64_t>(encoded.back().size()) > max_tokens) encoded.back().resize(static_cast<std::size_t>(max_tokens));
        longest = std::max(longest, static_cast<std::int64_t>(encoded.back().size()));
    }
    at::Tensor ids = torch::full({static_cast<std::int64_t>(texts.size()), longest}, Tokenizer::kPadId, torch::kLong);
    auto rows = ids.accessor<std::int64_t, 2>();
    for (std::size_t i = 0; i < encoded.size(); ++i)
        for (std::size_t j = 0; j < encoded[i].size(); ++j) rows[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(j)] = encoded[i][j];
    return ids;
}

}  // namespace ecgbench::text
