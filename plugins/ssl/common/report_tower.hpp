// The text side of the ECG–text methods (merl, melp): the report tokenizer, the text encoder and its
// projection to the joint ECG–text space, built into the method that owns them so their weights and
// the tokenizer travel in the method's checkpoint.
//  - Tokenizer: SentencePiece (unigram or BPE) fitted on the pretraining split's reports when the
//    method is set up for pretraining, or read from the user's `text_tokenizer` file. Its serialised
//    model and SHA-256 are buffers of the owner ("tokenizer_model", "tokenizer_sha256"); a rebuild for
//    evaluation (total_steps = 0) leaves them empty for the checkpoint to fill, and a tokenizer whose
//    bytes do not match their recorded hash is refused.
//  - Text encoder: the in-house transformer (TextTransformer, registered as "text_encoder"), or the
//    user's TorchScript module (`text_model`, forward(ids int64 [B,T], mask bool [B,T]) -> float
//    [B,D]), whose parameters and buffers are registered under "text_model" (trained with the ECG side
//    unless `freeze_text_model`); its file's SHA-256 is in the identity.
//  - Projection: Linear–GELU–Linear from the text width to `proj_dim` ("text_projection").
// text_tower_params() is the manifest's share of these: the methods declare them all alike.
#pragma once

#include "common/text_encoder.hpp"
#include "common/tokenizer.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/ssl.hpp"

#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace torch::jit {
struct Module;
}

namespace ecgbench::text {

/// Parameters of the text side: tokenizer, vocab_size, max_tokens, text_width, text_layers,
/// text_heads, text_dropout, proj_dim (`proj_dim_doc` says whose default it is), text_model,
/// text_tokenizer, freeze_text_model.
std::vector<ParamSpec> text_tower_params(const std::string& proj_dim_doc);

class ReportTower {
public:
    /// Reads text_tower_params() from `p`; std::invalid_argument prefixed with `method` when text_heads
    /// does not divide text_width or text_model comes without text_tokenizer.
    ReportTower(const Params& p, std::string method);
    ~ReportTower();

    /// Registers the text encoder, "text_projection" and the tokenizer buffers on `owner` (in that
    /// order), fitting the tokenizer on context.data->texts when context.total_steps > 0 and no
    /// text_tokenizer is given.
    void setup(torch::nn::Module& owner, const PretrainContext& context);

    /// Token ids of `texts`, cut to max_tokens and padded with Tokenizer::kPadId: int64 [N, L], CPU.
    at::Tensor token_ids(const std::vector<std::string>& texts) const;
    /// Joint-space embeddings of ids whose rows each hold a token: float [N, proj_dim] on the device.
    at::Tensor embed_ids(const at::Tensor& ids) { return encode(ids).embedding; }
    /// The same embeddings and, from the in-house encoder, the last-layer token states they are the
    /// projected mean of: float [N, L, width()] on the device (padding positions mean nothing);
    /// undefined with a TorchScript text_model, which returns one vector per text.
    struct Encoding {
        at::Tensor embedding, states;
    };
    Encoding encode(const at::Tensor& ids);
    /// Joint-space embeddings of texts; std::invalid_argument naming a text that yields no token.
    at::Tensor embed_texts(const std::vector<std::string>& texts);
    bool uses_text_model() const { return !text_model_path_.empty(); }
    /// Width of the text encoder's output (known after setup()).
    std::int64_t width() const { return width_; }
    /// The TorchScript module has its own training flag (dropout in a BERT): the owner's train()
    /// calls this.
    void train(bool on);
    /// For provenance: "sentencepiece unigram, 812 pieces, sha256 …", prefixed by the TorchScript
    /// module's path and hash when one is used.
    std::string identity() const;

private:
    std::int64_t load_text_model(torch::nn::Module& owner);
    at::Tensor run_text_model(const at::Tensor& ids);
    const Tokenizer& tokenizer() const;

    std::string method_;
    TokenizerOptions tokenizer_options_;
    TextEncoderOptions text_options_;
    std::int64_t proj_dim_;
    std::string text_model_path_, text_tokenizer_path_;
    bool freeze_text_model_;
    std::int64_t width_ = 0;
    std::shared_ptr<TextTransformer> text_encoder_;  // the in-house tower, or
    std::shared_ptr<torch::jit::Module> text_model_;  // the user's TorchScript one
    std::string text_model_sha256_;
    torch::nn::Sequential text_projection_{nullptr};
    at::Tensor tokenizer_model_, tokenizer_sha256_;
    mutable std::optional<Tokenizer> tokenizer_;
};

}  // namespace ecgbench::text
