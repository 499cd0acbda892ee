// Encoder plugin interface: a LibTorch module mapping signals [B, leads, samples] (with the lead mask
// and, for token encoders, a token mask) to pooled embeddings [B, D] and, where it has them, tokens.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ecgbench {

/// The input an encoder is built for.
struct EncoderInput {
    std::int64_t leads = 0;               ///< number of input leads
    std::int64_t samples = 0;             ///< samples per record
    double sampling_rate_hz = 0;          ///< Hz
    std::vector<std::string> lead_names;  ///< canonical names, in input order
};

/// What an encoder is called with. Only `signals` is always defined.
struct EncoderBatch {
    at::Tensor signals;       ///< float32 [B, L, T]
    at::Tensor lead_present;  ///< bool [B, L]; false = the lead is absent in that record (its column is 0); undefined = all present
    at::Tensor token_mask;    ///< bool [B, N] for token encoders; true = token hidden from the encoder (masked modelling); undefined = none
};

/// The input one token reads: a span of samples of one lead (or of every lead). Masked-modelling
/// methods cut their reconstruction targets and arrange their decoders with it.
struct TokenSpan {
    std::int64_t lead = -1;   ///< column of EncoderBatch::signals the token reads; -1 = every lead
    std::int64_t start = 0;   ///< first sample
    std::int64_t length = 0;  ///< samples
};

/// What an encoder returns.
struct EncoderOutput {
    at::Tensor pooled;  ///< float [B, embedding_dim()]: the record's embedding
    at::Tensor tokens;  ///< float [B, token_count(), D_tok] for token encoders (every position, masked ones included); undefined otherwise
};

/// An encoder: its parameters, buffers and submodules are registered as a torch::nn::Module, so the
/// host can move, save, load, copy and freeze it without knowing its architecture. The host makes
/// copies by building a fresh instance from the plugin and copying the state (copy_module_state),
/// so encoders need no copy code of their own.
class Encoder : public torch::nn::Module {
public:
    ~Encoder() override;
    /// The one call: signals, lead mask, optional token mask -> pooled embeddings (+ tokens).
    virtual EncoderOutput encode(const EncoderBatch& batch) = 0;
    /// Width of the pooled embedding.
    virtual std::int64_t embedding_dim() const = 0;
    /// Tokens per record for this input (0 for encoders without tokens): the N of token masks.
    virtual std::int64_t token_count() const { return 0; }
    /// What each of the token_count() tokens reads, in token order; empty = not described (an
    /// encoder that describes them provides the "token_spans" capability).
    virtual std::vector<TokenSpan> token_spans() const { return {}; }

    /// Convenience: pooled embedding of signals with every lead present and no token mask.
    at::Tensor forward(const at::Tensor& signals) { return encode({signals, {}, {}}).pooled; }
};

using EncoderPtr = std::shared_ptr<Encoder>;

/// Embeds `signals` (with `lead_present` when defined) in eval mode without gradients,
/// `batch_size` records at a time, on the encoder's device; returns float [N, D] on the CPU.
at::Tensor embed(Encoder& encoder, const at::Tensor& signals, std::int64_t batch_size = 256,
                 const at::Tensor& lead_present = {});

/// Tokens of `signals` as embed() computes pooled embeddings: float [N, token_count(), D_tok] on the
/// CPU; std::invalid_argument when the encoder returns no tokens. Undefined for zero records.
at::Tensor embed_tokens(Encoder& encoder, const at::Tensor& signals, std::int64_t batch_size = 256,
                        const at::Tensor& lead_present = {});

/// Copies every parameter and buffer of `from` into `to` (same architecture: equal names and
/// shapes; std::invalid_argument naming the first mismatch otherwise), and the training mode.
void copy_module_state(torch::nn::Module& from, torch::nn::Module& to);

/// Device of a module's first parameter (or buffer); CPU for a module without either.
c10::Device device_of(const torch::nn::Module& module);

}  // namespace ecgbench
