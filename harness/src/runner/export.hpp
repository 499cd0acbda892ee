// `ecgbench export`: a pretrained encoder as a TorchScript module that loads in Python with
// torch.jit.load and gives the same embeddings. The C++ encoder is traced (LibTorch's tracer) on an
// example batch with its parameters and buffers as the module's attributes; the example input and
// the C++ encoder's output on it are stored in the file too (buffers `example_input`,
// `example_output`), so any consumer can check the round trip.
#pragma once

#include "registry/registry.hpp"
#include "store/store.hpp"

#include <string>

namespace ecgbench {

struct ExportResult {
    std::string cell_hash;      ///< the pretraining cell exported
    std::string path;           ///< the TorchScript file written
    double max_abs_difference;  ///< traced module vs. the C++ encoder on the example batch (reloaded from disk)
};

/// Exports the encoder of the finished pretraining cell whose hash starts with `cell_prefix` (at
/// least 6 hex digits) to `out`. Throws std::runtime_error naming the cell when it is unknown,
/// ambiguous, not finished, or the traced module disagrees with the encoder by more than 1e-5.
ExportResult export_encoder(Store& store, const PluginRegistry& registry, const std::string& cell_prefix, const std::string& out);

}  // namespace ecgbench
