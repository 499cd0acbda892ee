// The labelled training records an evaluation cell uses: a seeded fraction of the training split
// (label efficiency) or at least k records per class (k-shot). Both are drawn from the cell's seed,
// so every method evaluated at a seed sees the same records.
#pragma once

#include "config/matrix.hpp"
#include "ecgbench/dataset.hpp"

#include <cstdint>

namespace ecgbench {

/// `fraction` of the records (at least 2), in their original order; the whole split at 1.
EcgSplit label_fraction_subset(const EcgSplit& train, double fraction, std::int64_t seed);

/// At least k records per class: records are visited in one random order and each class in turn
/// takes its next positives until it has k; a record taken counts for every class it carries (a
/// multi-label class may so end with more than k), and a class with fewer than k positives keeps
/// all of them. Throws std::runtime_error when the split has no labels.
EcgSplit k_shot_subset(const EcgSplit& train, std::int64_t k, std::int64_t seed);

/// The subset `cell` asks for: k_shot_subset when it has shots, label_fraction_subset otherwise.
EcgSplit labelled_subset(const EcgSplit& train, const EvalCell& cell);

}  // namespace ecgbench
