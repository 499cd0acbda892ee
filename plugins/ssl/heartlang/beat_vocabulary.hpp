// HeartLang's heartbeat vocabulary, built here by k-means (Lloyd's algorithm, k-means++ seeding;
// Arthur & Vassilvitskii 2007) over single-lead beat words of the pretraining split, where HeartLang
// learns a vector-quantised codebook (VQ-HBR) by reconstructing beats. A word's code is its nearest
// centre.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ecgbench::heartlang {

/// Index of the nearest centre (squared Euclidean distance; ties: the lowest index) of each row of
/// `points` (float [P, F]) among `centres` (float [K, F]): int64 [P].
at::Tensor nearest_centre(const at::Tensor& points, const at::Tensor& centres);

/// K centres of `points` (float [P, F], P ≥ 1): k-means++ seeding from the global generator, then at
/// most `iterations` Lloyd steps (assign each point to its nearest centre, move each centre to the
/// mean of its points), stopping early once no assignment changes. A centre left without points
/// keeps its place; with fewer distinct points than `k` the surplus centres repeat points (the
/// lowest-index copy wins every tie, so they are never assigned). Returns float [k, F].
at::Tensor fit_kmeans(const at::Tensor& points, std::int64_t k, std::int64_t iterations);

}  // namespace ecgbench::heartlang
