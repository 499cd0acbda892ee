// The shared training engine: one loop for SSL pretraining and for tasks that fine-tune.
//
// Per step: gather the batch (loader threads, prefetch) -> move it to the device -> loss (under
// bf16 autocast when asked) -> NaN/Inf guard (fails with the step number) -> backward -> optional
// gradient clipping -> AdamW or SGD step at the scheduled rate (linear warm-up, then cosine decay)
// -> optional EMA of the weights -> on_step_end hook. Deterministic for a seed on the CPU: the
// epoch orders and every random draw come from LibTorch's global generator, whose state is part of
// the resume checkpoint, so a run killed and resumed ends exactly where an uninterrupted one does.
#pragma once

#include "ecgbench/batch.hpp"
#include "ecgbench/dataset.hpp"
#include "ecgbench/ssl.hpp"

#include <torch/nn/module.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecgbench {

/// Thrown when a stop was requested (Ctrl-C, SIGTERM) between steps.
class DataParallel;  // the host's data-parallel group (internal; plugins leave the pointer null)

class Interrupted : public std::runtime_error {
public:
    Interrupted() : std::runtime_error("interrupted") {}
};

struct TrainOptions {
    std::int64_t epochs = 10;
    std::int64_t batch_size = 64;
    std::int64_t max_steps = 0;            ///< 0 = epochs decide
    std::string optimizer = "adamw";       ///< "adamw" or "sgd" (with momentum, Nesterov off)
    double learning_rate = 1e-3;           ///< peak rate
    double weight_decay = 1e-4;
    double momentum = 0.9;                 ///< sgd only
    double warmup_fraction = 0.05;         ///< share of the steps with a linear warm-up
    double grad_clip_norm = 0;             ///< clip the global gradient L2 norm to this; 0 = off
    double ema_decay = 0;                  ///< keep an EMA of the weights and end on it; 0 = off
    std::string device = "cpu";            ///< "cpu", "cuda", "cuda:N"
    std::string precision = "fp32";        ///< "fp32" or "bf16" (autocast; see check_precision)
    std::int64_t checkpoint_every = 0;     ///< write the resume state every N steps; 0 = never
    std::string resume_path;               ///< where the resume state lives ("" = no resume support)
    int loader_workers = 0;                ///< batch-gathering threads (never changes the result)
    int prefetch = 4;                      ///< batches gathered ahead
    /// Set by the host for data-parallel pretraining (`run --nproc N`, srun): every rank runs this
    /// loop on its share of each global batch of batch_size rows (batch_size must divide by the
    /// ranks), gradients are averaged over the ranks each step, and the loss reported is the
    /// global batch's. Null (the default, and always in plugins): one process.
    DataParallel* data_parallel = nullptr;
};

/// Progress after one step (for display).
struct TrainProgress {
    std::int64_t epoch, epochs, step, total_steps;
    double loss;
    std::map<std::string, double> terms;
    double learning_rate, seconds_elapsed;
};

/// Mean loss and terms of one epoch, as stored per epoch.
struct EpochSummary {
    std::int64_t epoch = 0;
    std::int64_t steps = 0;
    double loss = 0;
    std::map<std::string, double> terms;
};

struct TrainReport {
    std::int64_t steps = 0;
    std::int64_t resumed_from_step = 0;     ///< 0 = started fresh
    double final_loss = 0;                  ///< mean loss of the last epoch
    std::map<std::string, double> final_terms;
    std::vector<EpochSummary> epochs;
    double seconds = 0;                     ///< this process's training time
    double samples_per_second = 0;
    bool stopped_early = false;             ///< on_epoch_end ended training before the planned steps
};

/// What the loop calls besides the loss.
struct TrainHooks {
    std::function<void(const TrainProgress&)> on_progress;  ///< after every step
    std::function<void(const StepState&)> on_step_end;      ///< after the optimiser step (and EMA)
    std::function<at::Tensor(std::int64_t epoch)> epoch_order;  ///< rows of an epoch; undefined -> shuffle
    /// After each epoch (its summary); returning false ends training there (early stopping). The
    /// modules are back in training mode afterwards, whatever the hook did.
    std::function<bool(const EpochSummary&)> on_epoch_end;
    const std::atomic<bool>* stop = nullptr;                 ///< checked before every step
};

using LossFn = std::function<Loss(const Batch&)>;

/// Modules optimised at `lr_scale` × the scheduled learning rate: discriminative rates, e.g. an
/// encoder fine-tuned at 0.1 × its head's rate.
struct TrainGroup {
    torch::nn::Module* module = nullptr;
    double lr_scale = 1.0;
};

/// Optimises the parameters (requires_grad) of `modules` on `data` (on the CPU; batches are moved to
/// options.device). Modules must already be on that device. A ragged last batch is dropped unless the
/// split is smaller than one batch. With options.resume_path set and a state file there from an
/// interrupted run of the same shape, training continues from it; the file is removed at the end.
TrainReport train(const std::vector<torch::nn::Module*>& modules, const EcgSplit& data, const LossFn& loss,
                  const TrainOptions& options, const TrainHooks& hooks = {});
/// The same loop with one learning-rate scale per group (one optimiser parameter group each).
TrainReport train(const std::vector<TrainGroup>& groups, const EcgSplit& data, const LossFn& loss, const TrainOptions& options,
                  const TrainHooks& hooks = {});

/// Steps the loop will take for `records` rows under `options`.
std::int64_t planned_steps(std::int64_t records, const TrainOptions& options);

/// Throws std::invalid_argument with a clear message when `precision` cannot run on `device`
/// ("bf16" needs CUDA, or a CPU with AVX512-BF16 or AMX-BF16).
void check_precision(const std::string& precision, const std::string& device);

/// True when this CPU has native bf16 arithmetic (AVX512-BF16 or AMX-BF16).
bool cpu_has_bf16();

/// Resolves "auto" to "cuda" when LibTorch sees a CUDA device, else "cpu"; checks "cuda" exists.
std::string resolve_device(const std::string& requested);

/// The rows `rows` (int64 [B], CPU) of `data` as a Batch on the CPU: every field.
Batch gather_batch(const EcgSplit& data, const at::Tensor& rows);
/// `batch` with its tensors moved to `device`.
Batch to_device(const Batch& batch, const c10::Device& device);

}  // namespace ecgbench
