// Checks a dataset plugin's stream() against its load(): the same records, fields and order, in
// chunks of at most the size asked for.
#pragma once

#include "ecgbench/dataset.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace test_support {

inline bool same_values(const at::Tensor& a, const at::Tensor& b) {
    return a.sizes().equals(b.sizes()) && at::equal(at::isnan(a), at::isnan(b)) && at::equal(at::nan_to_num(a), at::nan_to_num(b));
}

inline void expect_stream_matches_load(ecgbench::Dataset& ds, ecgbench::Split split, const std::vector<std::string>& leads,
                                       std::int64_t chunk_records) {
    const ecgbench::EcgSplit whole = ds.load(split, leads);
    std::vector<ecgbench::EcgSplit> parts;
    ds.stream(split, leads, chunk_records, [&](ecgbench::EcgSplit&& chunk) {
        EXPECT_GT(chunk.size(), 0);
        EXPECT_LE(chunk.size(), chunk_records);
        parts.push_back(std::move(chunk));
    });
    EXPECT_GE(parts.size(), static_cast<std::size_t>((whole.size() + chunk_records - 1) / chunk_records));
    const ecgbench::EcgSplit joined = ecgbench::concatenate(parts);
    ASSERT_EQ(joined.size(), whole.size()) << ecgbench::to_string(split);
    EXPECT_TRUE(same_values(joined.signals, whole.signals));
    EXPECT_TRUE(at::equal(joined.lead_present, whole.lead_present));
    EXPECT_TRUE(at::equal(joined.labels, whole.labels));
    EXPECT_TRUE(at::equal(joined.subjects, whole.subjects));
    EXPECT_EQ(joined.record_ids, whole.record_ids);
    EXPECT_EQ(joined.texts, whole.texts);
    ASSERT_EQ(joined.covariates.size(), whole.covariates.size());
    for (const auto& [name, values] : whole.covariates) EXPECT_TRUE(same_values(joined.covariates.at(name), values)) << name;
}

}  // namespace test_support
