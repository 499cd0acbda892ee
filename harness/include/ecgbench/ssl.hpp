// SSL method plugin interface. The host owns the training loop (optimiser, schedule, batching,
// checkpoints); a method contributes its heads and its loss for one batch.
#pragma once

#include "ecgbench/encoder.hpp"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace ecgbench {

/// What a method knows about the pretraining data when it builds its heads.
struct PretrainContext {
    EncoderInput input;                ///< shape, rate and lead names of the signals
    std::int64_t embedding_dim = 0;    ///< encoder output width
    std::vector<std::string> classes;  ///< label names (for supervised baselines)
};

/// One training batch. Tensors live on the training device.
struct Batch {
    at::Tensor signals;       ///< float32 [B, L, T]
    at::Tensor lead_present;  ///< bool [B, L]
    at::Tensor labels;        ///< float32 [B, C]
    at::Tensor subjects;      ///< int64 [B]
};

class SslMethod {
public:
    virtual ~SslMethod();
    /// Builds heads for `encoder` (called once, before parameters()).
    virtual void setup(Encoder& encoder, const PretrainContext& context) = 0;
    /// False for methods that leave the encoder as initialised (lower bounds): no loop runs.
    virtual bool trains() const { return true; }
    /// True when the loss reads labels (recorded: such a "pretraining" is not self-supervised).
    virtual bool uses_labels() const { return false; }
    /// Parameters of the method's own heads; the encoder's are optimised alongside.
    virtual std::vector<at::Tensor> parameters() = 0;
    /// Switches heads between training and evaluation mode.
    virtual void train(bool on) = 0;
    /// Scalar loss for one batch; the host calls backward() and steps the optimiser.
    virtual at::Tensor loss(Encoder& encoder, const Batch& batch) = 0;
};

}  // namespace ecgbench
