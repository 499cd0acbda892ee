#include "beat_vocabulary.hpp"

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

namespace ecgbench::heartlang {

namespace {

// ‖x − c‖² for every pair, [P, K], clamped at 0 against rounding.
at::Tensor squared_distances(const at::Tensor& points, const at::Tensor& centres) {
    return (points.pow(2).sum(1, true) - 2 * points.mm(centres.t()) + centres.pow(2).sum(1).unsqueeze(0)).clamp_min(0);
}

}  // namespace

at::Tensor nearest_centre(const at::Tensor& points, const at::Tensor& centres) {
    if (points.dim() != 2 || centres.dim() != 2 || points.size(1) != centres.size(1) || centres.size(0) == 0)
        throw std::invalid_argument("nearest_centre: points [P, F] and centres [K ≥ 1, F] expected");
    if (points.size(0) == 0) return at::empty({0}, points.options().dtype(at::kLong));
    return std::get<1>(squared_distances(points, centres).min(1));
}

at::Tensor fit_kmeans(const at::Tensor& points_in, std::int64_t k, std::int64_t iterations) {
    if (points_in.dim() != 2 || points_in.size(0) == 0 || k < 1)
        throw std::invalid_argument("fit_kmeans: needs points [P ≥ 1, F] and k ≥ 1 (got k = " + std::to_string(k) + ")");
    const at::Tensor points = points_in.to(at::kFloat).contiguous();
    const std::int64_t p = points.size(0);
    // k-means++: the first centre uniformly, each next one with probability ∝ its squared distance
    // to the nearest centre so far (uniformly again once every point coincides with a centre).
    at::Tensor centres = at::empty({k, points.size(1)}, points.options());
    centres[0] = points[at::randint(p, {1}, points.options().dtype(at::kLong)).item<std::int64_t>()];
    at::Tensor nearest = squared_distances(points, centres.narrow(0, 0, 1)).squeeze(1);
    for (std::int64_t c = 1; c < k; ++c) {
        const double total = nearest.sum().item<double>();
        const at::Tensor weights = total > 0 ? nearest : at::ones_like(nearest);
        centres[c] = points[at::multinomial(weights, 1).item<std::int64_t>()];
        nearest = at::minimum(nearest, squared_distances(points, centres.narrow(0, c, 1)).squeeze(1));
    }
    at::Tensor assignment;
    for (std::int64_t it = 0; it < iterations; ++it) {
        const at::Tensor next = nearest_centre(points, centres);
        if (assignment.defined() && at::equal(next, assignment)) break;
        assignment = next;
        const at::Tensor sums = at::zeros_like(centres).index_add_(0, assignment, points);
        const at::Tensor counts = at::bincount(assignment, {}, k).to(at::kFloat).unsqueeze(1);
        centres = at::where(counts > 0, sums / counts.clamp_min(1), centres);
    }
    return centres;
}

}  // namespace ecgbench::heartlang
