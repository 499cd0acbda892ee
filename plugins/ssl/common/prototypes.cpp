#include "common/prototypes.hpp"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <stdexcept>
#include <string>

namespace ecgbench::masked {

namespace {

at::Tensor unit_rows(const at::Tensor& x) { return x / x.norm(2, /*dim=*/1, /*keepdim=*/true).clamp_min(1e-12); }

void check_rows(const char* what, const at::Tensor& t, std::int64_t width) {
    if (t.dim() != 2 || (width >= 0 && t.size(1) != width))
        throw std::invalid_argument(std::string("prototypes: ") + what + " must be [rows, " +
                                    (width >= 0 ? std::to_string(width) : std::string("D")) + "]");
}

}  // namespace

at::Tensor prototype_assignments(const at::Tensor& embeddings, const at::Tensor& prototypes, double temperature) {
    check_rows("prototypes", prototypes, -1);
    check_rows("embeddings", embeddings, prototypes.size(1));
    if (!(temperature > 0)) throw std::invalid_argument("prototypes: temperature must be positive");
    return (unit_rows(embeddings).mm(unit_rows(prototypes).t()) / temperature).softmax(1);
}

at::Tensor soft_cross_entropy(const at::Tensor& logits, const at::Tensor& targets) {
    if (logits.dim() != 2 || logits.sizes() != targets.sizes())
        throw std::invalid_argument("soft_cross_entropy: logits and targets must both be [M, K]");
    if (logits.size(0) == 0) return logits.sum() * 0;
    return -(targets.detach() * logits.log_softmax(1)).sum(1).mean();
}

void update_prototypes(const at::Tensor& prototypes, const at::Tensor& idle, const at::Tensor& embeddings,
                       double momentum, std::int64_t reinit_after) {
    check_rows("prototypes", prototypes, -1);
    check_rows("embeddings", embeddings, prototypes.size(1));
    const std::int64_t k = prototypes.size(0), m = embeddings.size(0);
    if (idle.dim() != 1 || idle.size(0) != k) throw std::invalid_argument("prototypes: idle must be [K]");
    if (m == 0) throw std::invalid_argument("prototypes: no embeddings to update the prototypes with");
    if (reinit_after < 0) throw std::invalid_argument("prototypes: reinit_after must be ≥ 0 (0: never)");
    torch::NoGradGuard no_grad;
    const at::Tensor z = unit_rows(embeddings.detach().to(prototypes.scalar_type()));
    const at::Tensor restart = reinit_after > 0 ? idle.lt(0) | idle.ge(reinit_after) : idle.lt(0);
    const at::Tensor dead = restart.nonzero().view({-1});
    if (const std::int64_t d = dead.size(0); d > 0) {
        const auto long_options = at::TensorOptions().dtype(at::kLong).device(z.device());
        const at::Tensor rows =
            d <= m ? at::randperm(m, long_options).narrow(0, 0, d) : at::randint(m, {d}, long_options);
        prototypes.index_copy_(0, dead, z.index_select(0, rows));
        idle.index_fill_(0, dead, 0);
    }
    const at::Tensor nearest = z.mm(unit_rows(prototypes).t()).argmax(1);  // [M]
    const at::Tensor sums = at::zeros_like(prototypes).index_add_(0, nearest, z);
    const at::Tensor counts = at::zeros({k}, z.options()).index_add_(0, nearest, at::ones({m}, z.options()));
    const at::Tensor won = counts > 0;
    const at::Tensor moved =
        unit_rows(momentum * prototypes + (1 - momentum) * sums / counts.clamp_min(1).unsqueeze(1));
    prototypes.copy_(at::where(won.unsqueeze(1), moved, prototypes));
    idle.copy_(at::where(won, at::zeros_like(idle), idle + 1));
}

}  // namespace ecgbench::masked
