// Cutting a split into Dataset::stream chunks: consecutive ranges of at most `chunk_records`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ecgbench {

/// Calls `fn(begin, end)` for consecutive ranges [begin, end) covering [0, count), each at most
/// `chunk_records` long. std::invalid_argument when chunk_records < 1.
template <typename Fn>
void for_each_chunk(std::int64_t count, std::int64_t chunk_records, Fn&& fn) {
    if (chunk_records < 1) throw std::invalid_argument("chunk_records must be >= 1, got " + std::to_string(chunk_records));
    for (std::int64_t begin = 0; begin < count; begin += chunk_records) fn(begin, std::min(count, begin + chunk_records));
}

}  // namespace ecgbench
