// Downstream task plugin interface: evaluates a pretrained encoder on a held-out dataset. A task
// owns its copy of the encoder (on the evaluation device) and may fine-tune it; it returns metrics
// with their direction and per-record outputs, which the host stores so that confidence intervals,
// subgroup metrics and paired method comparisons can be computed later without re-running.
#pragma once

#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/ssl.hpp"

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

/// Whether larger values of a metric are better (AUROC) or smaller ones (MAE, ECE, loss).
enum class Direction { HigherIsBetter, LowerIsBetter };

/// One number a task reports. `split` says which split it was computed on.
struct Metric {
    std::string name;                  ///< e.g. "macro_auroc", "auroc/AF", "mae/qt_ms"
    std::string split;                 ///< "test", "val", …
    double value = 0;
    std::optional<double> ci_low{};    ///< lower bound of a 95 % CI when computed
    std::optional<double> ci_high{};   ///< upper bound
    Direction direction = Direction::HigherIsBetter;
};

/// Per-record outputs of one split: one row per record, one column per output (class scores,
/// regression predictions…), keyed by record id.
struct RecordOutputs {
    std::string split;                    ///< "test", …
    std::string kind;                     ///< "logits", "probabilities", "predictions", "targets", …
    std::vector<std::string> columns;     ///< column names (classes, targets)
    std::vector<std::string> record_ids;  ///< one per row of `values`
    at::Tensor values;                    ///< float [records, columns] on the CPU
};

/// What a task returns.
struct TaskResult {
    std::vector<Metric> metrics;
    std::vector<RecordOutputs> outputs;  ///< stored compressed with their sha256 (store table `record_outputs`)
};

/// Everything a task sees. The train split has already been subsampled to the label fraction.
struct EvalContext {
    EncoderPtr encoder;                        ///< the task's own copy of the pretrained encoder, on `device`, eval mode
    std::function<EncoderPtr()> fresh_encoder; ///< another copy of the pretrained encoder, on `device` (e.g. one per hyper-parameter)
    /// The SSL method's state from the checkpoint (heads, text tower…), set up and on `device`;
    /// throws when the pretraining kept none (e.g. random_init) or the method cannot be rebuilt.
    std::function<std::shared_ptr<SslMethod>()> pretrained_method;
    c10::Device device = c10::Device(c10::kCPU);  ///< where the task should compute
    const DatasetInfo& dataset;                ///< the evaluation dataset
    const EcgSplit& train;
    const EcgSplit& val;
    const EcgSplit& test;
    std::uint64_t seed = 0;
    std::function<void(const std::string&)> log;  ///< progress lines
};

class Task {
public:
    virtual ~Task();
    /// Runs the protocol. Throwing fails the cell, not the run.
    virtual TaskResult evaluate(const EvalContext& context) = 0;
};

}  // namespace ecgbench
