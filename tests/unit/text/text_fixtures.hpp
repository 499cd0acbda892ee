// Shared by the merl and melp unit tests: a text tower small enough for a unit test, and reports
// in the style of the synthetic cohort's (sentences split by '.', ';' and ',').
#pragma once

#include "ecgbench/params.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace text_fixtures {

inline const std::map<std::string, ecgbench::ParamValue> kSmallTower{
    {"vocab_size", std::int64_t{120}}, {"text_width", std::int64_t{32}}, {"text_heads", std::int64_t{4}},
    {"text_layers", std::int64_t{1}},  {"proj_dim", std::int64_t{16}},   {"max_tokens", std::int64_t{24}}};

/// `n` reports cycling through six findings statements.
inline std::vector<std::string> reports(std::int64_t n) {
    const std::vector<std::string> pool{"Sinus rhythm. Normal ECG.", "ATRIAL FIBRILLATION; LVH", "sinus bradycardia, rate 48",
                                        "Sinus rhythm; T wave inversion", "complete LBBB", "sinus tachycardia 120/min. LVH"};
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < n; ++i) out.push_back(pool[static_cast<std::size_t>(i) % pool.size()]);
    return out;
}

}  // namespace text_fixtures
