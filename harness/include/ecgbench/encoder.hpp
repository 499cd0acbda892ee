// Encoder plugin interface: a LibTorch module mapping [B, leads, samples] to [B, embedding_dim].
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

/// An encoder: its parameters, buffers and submodules are registered as a torch::nn::Module, so the
/// host can move, save, load and freeze it without knowing its architecture.
class Encoder : public torch::nn::Module {
public:
    ~Encoder() override;
    /// signals float32 [B, leads, samples] -> embeddings float32 [B, embedding_dim()].
    virtual at::Tensor forward(const at::Tensor& signals) = 0;
    /// Width of the embedding.
    virtual std::int64_t embedding_dim() const = 0;
};

using EncoderPtr = std::shared_ptr<Encoder>;

/// Embeds `signals` in eval mode without gradients, `batch_size` records at a time.
at::Tensor embed(Encoder& encoder, const at::Tensor& signals, std::int64_t batch_size = 256);

}  // namespace ecgbench
