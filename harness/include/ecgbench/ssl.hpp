// SSL method plugin interface. The host owns the training loop (train.hpp: optimiser, schedule,
// batching, clipping, EMA, checkpoints and resume); a method is a torch::nn::Module holding its
// own state (heads, target networks, prototypes, a text tower: every registered submodule,
// parameter and buffer), contributes a loss per batch and may react after each optimiser step.
//
// Lifecycle, in the order the host calls it:
//   1. the encoder is built and moved to the training device;
//   2. setup(encoder, context): build and register heads (any device; the host then moves the
//      whole method, i.e. everything registered, to the encoder's device);
//   3. per epoch: epoch_order() (optional) gives the order of the split's rows; batches are
//      consecutive slices of it, and a ragged last batch is dropped (full batches for contrastive
//      losses and batch statistics) unless the split is smaller than one batch;
//   4. per step: loss(encoder, batch) -> backward -> clipping -> optimiser step -> on_step_end();
//   5. the checkpoint holds the encoder's and the method's state (parameters and buffers), so an
//      evaluation can rebuild the method's parts (EvalContext::pretrained_method).
// Parameters with requires_grad = false (an EMA target network, say) are saved but not optimised.
#pragma once

#include "ecgbench/batch.hpp"
#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ecgbench {

/// What a method knows about the pretraining data when it builds its heads.
struct PretrainContext {
    EncoderInput input;                   ///< shape, rate and lead names of the signals
    std::int64_t embedding_dim = 0;       ///< encoder's pooled width
    std::int64_t token_count = 0;         ///< encoder's tokens per record (0: no tokens)
    std::vector<std::string> classes;     ///< label names (for supervised baselines)
    std::vector<std::string> covariates;  ///< covariate names the split carries
    bool has_texts = false;               ///< the split carries report texts
    std::int64_t batch_size = 0;          ///< records per step
    /// Optimiser steps the run will take (for schedules). 0 when the host rebuilds the method to
    /// load a checkpoint's state (EvalContext::pretrained_method): fit nothing (tokenizers,
    /// statistics) then, the loaded state replaces it.
    std::int64_t total_steps = 0;
    const EcgSplit* data = nullptr;       ///< the whole pretraining split, on the CPU (may be memory-mapped): fit tokenizers or statistics here
    /// A copy of the encoder as it is now (same architecture, weights, buffers, device), made by the
    /// host: target networks (BYOL, JEPA) register it as a submodule and freeze its parameters.
    /// Valid during setup() only.
    std::function<EncoderPtr()> copy_encoder;
};

/// A loss and its named terms (shown in progress, stored per epoch). Implicit from a tensor.
struct Loss {
    at::Tensor total;                           ///< scalar to minimise
    std::map<std::string, at::Tensor> terms{};  ///< e.g. {"invariance", …}; scalars, detached by the host
    Loss() = default;
    Loss(at::Tensor total_) : total(std::move(total_)) {}  // NOLINT: implicit on purpose
    Loss(at::Tensor total_, std::map<std::string, at::Tensor> terms_) : total(std::move(total_)), terms(std::move(terms_)) {}
};

/// Where training stands after an optimiser step.
struct StepState {
    std::int64_t step = 0;         ///< steps completed (1-based after the first)
    std::int64_t total_steps = 0;  ///< steps the run will take
    std::int64_t epoch = 0;        ///< 1-based
    double learning_rate = 0;      ///< the rate this step used
};

class SslMethod : public torch::nn::Module {
public:
    ~SslMethod() override;
    /// Builds and registers heads for `encoder` (already on the training device).
    virtual void setup(Encoder& encoder, const PretrainContext& context) = 0;
    /// False for methods that leave the encoder as initialised (lower bounds): no loop runs.
    virtual bool trains() const { return true; }
    /// True when the loss reads labels (recorded with the run and shown by reports: such a
    /// "pretraining" is not self-supervised).
    virtual bool uses_labels() const { return false; }
    /// Loss for one batch; the host calls backward() and steps the optimiser.
    virtual Loss loss(Encoder& encoder, const Batch& batch) = 0;
    /// After each optimiser step (EMA target updates, prototype refresh, temperature schedules).
    virtual void on_step_end(Encoder& encoder, const StepState& state) {
        (void)encoder;
        (void)state;
    }
    /// The order of the split's rows for epoch `epoch` (1-based), int64 [M] with M ≤ N rows, for
    /// methods that compose batches (patient- or record-grouped). Undefined (the default) = a
    /// uniform shuffle drawn from `generator`.
    virtual at::Tensor epoch_order(const EcgSplit& data, std::int64_t epoch, at::Generator& generator) {
        (void)data;
        (void)epoch;
        (void)generator;
        return {};
    }
};

}  // namespace ecgbench
