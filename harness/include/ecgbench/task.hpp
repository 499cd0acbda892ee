// Downstream task plugin interface: evaluates a frozen pretrained encoder on a held-out dataset.
#pragma once

#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

/// One number a task reports. `split` says which split it was computed on.
struct Metric {
    std::string name;               ///< e.g. "macro_auroc", "auroc/AF"
    std::string split;              ///< "test", "val", …
    double value = 0;
    std::optional<double> ci_low{};   ///< lower bound of a 95 % CI when computed
    std::optional<double> ci_high{};  ///< upper bound
};

/// Everything a task sees. The train split has already been subsampled to the label fraction.
struct EvalContext {
    Encoder& encoder;            ///< pretrained encoder (tasks may fine-tune a copy, never the original)
    const DatasetInfo& dataset;  ///< the evaluation dataset
    const EcgSplit& train;
    const EcgSplit& val;
    const EcgSplit& test;
    std::uint64_t seed = 0;
    std::function<void(const std::string&)> log;  ///< progress lines
};

class Task {
public:
    virtual ~Task();
    /// Runs the protocol and returns its metrics. Throwing fails the cell, not the run.
    virtual std::vector<Metric> evaluate(const EvalContext& context) = 0;
};

}  // namespace ecgbench
