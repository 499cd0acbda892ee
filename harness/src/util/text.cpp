// Text helpers for error messages: edit distance and "did you mean" suggestions.
#include "util/text.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace ecgbench {
namespace {

std::string lower(const std::string& text) {
    std::string out = text;
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

std::size_t levenshtein(const std::string& a, const std::string& b) {
    // Classic dynamic programme keeping only the previous row: names are short, so O(|a||b|)
    // time is irrelevant but there is no reason to allocate the full matrix.
    std::vector<std::size_t> previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    // Allow roughly one typo per three characters, at most three: enough for "epoch"/"epochs" or
    // "synthetc"/"synthetic", while short words do not match everything of similar length.
    const std::string needle = lower(word);
    const std::size_t limit = std::clamp<std::size_t>(needle.size() / 3, 1, 3);
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    const std::string* best = nullptr;
    for (const std::string& candidate : candidates) {
        // Suggesting the word itself would be noise; an exact match is the caller's other case.
        if (candidate.empty() || candidate == word) continue;
        const std::string folded = lower(candidate);
        const std::size_t distance = levenshtein(needle, folded);
        // A distance equal to the longer length means nothing in common: never a suggestion.
        if (distance > limit || distance >= std::max(needle.size(), folded.size())) continue;
        // Strict '<' keeps the first of equally close candidates: stable, caller-ordered output.
        if (distance < best_distance) {
            best_distance = distance;
            best = &candidate;
        }
    }
    return best ? " (did you mean '" + *best + "'?)" : std::string{};
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += separator;
        out += items[i];
    }
    return out;
}

}  // namespace ecgbench
