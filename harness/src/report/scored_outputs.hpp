// A run's stored per-record test outputs as the resampling statistics need them: scores (logits)
// and 0/1 labels in one record order, so several runs scored on the same records can be resampled
// together (seeds of one method, or two methods in a paired test).
#pragma once

#include "ecgbench/resampling.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

struct ScoredRecords {
    std::vector<std::string> record_ids;
    std::vector<double> scores;  ///< row-major [records × classes]
    std::vector<int> labels;     ///< row-major [records × classes], 0/1
    std::int64_t classes = 0;
};

/// The run's logits and labels of `split`; nullopt when it kept none (evaluated before outputs
/// were stored, or a task that stores other outputs). Throws when logits and labels disagree.
std::optional<ScoredRecords> load_scored_records(const Store& store, std::int64_t run_id, const std::string& split);

/// `records` reordered to `order`; nullopt when it scored other records or other classes.
std::optional<ScoredRecords> aligned_to(const ScoredRecords& records, const std::vector<std::string>& order);

/// The mean over runs of macro AUROC on a resample's rows: all runs aligned to one record order.
/// The statistic refers to `runs`, which must outlive it.
Statistic mean_macro_auroc(const std::vector<ScoredRecords>& runs);

}  // namespace ecgbench
