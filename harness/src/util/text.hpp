// Small text helpers used for error messages and reports.
#pragma once

#include <string>
#include <vector>

namespace ecgbench {

/// Edit distance (insertions, deletions, substitutions), case-sensitive.
std::size_t levenshtein(const std::string& a, const std::string& b);

/// " (did you mean 'x'?)" for the closest candidate within a small distance (case-insensitive
/// comparison), or "" when nothing is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

/// Items joined with `separator`.
std::string join(const std::vector<std::string>& items, const std::string& separator);

}  // namespace ecgbench
