#include "runner/label_subsets.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace ecgbench {

EcgSplit label_fraction_subset(const EcgSplit& train, double fraction, std::int64_t seed) {
    if (fraction >= 1.0) return train;
    const std::int64_t n = train.size();
    const auto keep = std::max<std::int64_t>(2, static_cast<std::int64_t>(std::ceil(fraction * static_cast<double>(n))));
    auto generator = at::detail::createCPUGenerator(static_cast<std::uint64_t>(seed) ^ 0x5eedf4acULL);
    auto order = at::randperm(n, generator, at::TensorOptions().dtype(at::kLong)).slice(0, 0, std::min(keep, n));
    return subset(train, std::get<0>(order.sort()));
}

EcgSplit k_shot_subset(const EcgSplit& train, std::int64_t k, std::int64_t seed) {
    if (!train.labels.defined() || train.labels.dim() != 2 || train.labels.size(1) == 0)
        throw std::runtime_error("k-shot: the training split has no labels");
    const std::int64_t n = train.size(), classes = train.labels.size(1);
    auto generator = at::detail::createCPUGenerator(static_cast<std::uint64_t>(seed) ^ 0x5e0f5407ULL);
    const at::Tensor order = at::randperm(n, generator, at::TensorOptions().dtype(at::kLong));
    const at::Tensor positive = (train.labels.index_select(0, order) > 0.5).contiguous();
    const auto is_positive = positive.accessor<bool, 2>();
    const auto record_at = order.accessor<std::int64_t, 1>();
    std::vector<std::int64_t> count(static_cast<std::size_t>(classes), 0);
    std::vector<bool> taken(static_cast<std::size_t>(n), false);
    std::vector<std::int64_t> keep;
    for (std::int64_t c = 0; c < classes; ++c) {
        for (std::int64_t i = 0; i < n && count[c] < k; ++i) {
            if (taken[i] || !is_positive[i][c]) continue;
            taken[i] = true;
            keep.push_back(record_at[i]);
            for (std::int64_t other = 0; other < classes; ++other) count[other] += is_positive[i][other];
        }
    }
    std::sort(keep.begin(), keep.end());
    return subset(train, at::tensor(keep, at::TensorOptions().dtype(at::kLong)));
}

EcgSplit labelled_subset(const EcgSplit& train, const EvalCell& cell) {
    return cell.shots > 0 ? k_shot_subset(train, cell.shots, cell.seed) : label_fraction_subset(train, cell.label_fraction, cell.seed);
}

}  // namespace ecgbench
