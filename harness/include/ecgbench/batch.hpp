// A training batch: the rows of a split, every EcgSplit field included, on the training device.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace ecgbench {

/// Rows of the training split. Tensors live on the training device; strings on the host.
struct Batch {
    at::Tensor signals;         ///< float32 [B, L, T]
    at::Tensor lead_present;    ///< bool [B, L]
    at::Tensor labels;          ///< float32 [B, C] (C may be 0)
    at::Tensor subjects;        ///< int64 [B] subject (patient) index
    at::Tensor rows;            ///< int64 [B] row of each record in the split
    at::Tensor source_records;  ///< int64 [B] record a window/beat was cut from (equal = same source record); the row itself without a window/beats step
    std::vector<std::string> record_ids;          ///< one per row ("" when the dataset has none)
    std::vector<std::string> texts;               ///< report per row; empty when the dataset has no texts
    std::map<std::string, at::Tensor> covariates; ///< float32 [B] each; NaN = missing
    std::int64_t size() const { return signals.defined() ? signals.size(0) : 0; }
};

}  // namespace ecgbench
