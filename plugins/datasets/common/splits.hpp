// Patient-disjoint splits by hash, for datasets without an official split.
#pragma once

#include "ecgbench/dataset.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace ecgbench::datasets {

/// Ranks `subjects` by splitmix64(FNV-1a(subject) ^ splitmix64(seed)) and cuts the ranking: the
/// first round(val_fraction * n) go to Val, the next round(test_fraction * n) to Test, the rest to
/// Train. A fraction > 0 gets at least one subject when n >= 3; Train always keeps at least one.
/// The assignment of a subject depends only on (subject, seed) and the set's size.
std::map<std::string, Split> hashed_subject_splits(const std::set<std::string>& subjects, double val_fraction,
                                                   double test_fraction, std::uint64_t seed);

/// Human-readable rule for DatasetInfo::split_rule ("<unit> ranked by a hash of (seed, name); ...").
std::string hashed_split_rule(const std::string& unit, double val_fraction, double test_fraction);

}  // namespace ecgbench::datasets
