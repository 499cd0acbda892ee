#include "sentence_losses.hpp"

#include <ATen/ATen.h>

#include <stdexcept>

namespace ecgbench::heartlang {

namespace {

void check_form(const at::Tensor& logits, const at::Tensor& codes, const at::Tensor& scored) {
    if (logits.dim() != 3 || codes.sizes() != logits.sizes().slice(0, 2) || scored.sizes() != codes.sizes())
        throw std::invalid_argument("heartlang form loss: logits [n, L, V], codes and scored [n, L] expected");
}

}  // namespace

at::Tensor form_loss(const at::Tensor& logits, const at::Tensor& codes, const at::Tensor& scored) {
    check_form(logits, codes, scored);
    const at::Tensor weight = scored.to(logits.scalar_type()).reshape({-1});
    const at::Tensor per_word = at::cross_entropy_loss(logits.reshape({-1, logits.size(2)}),
                                                       at::where(scored, codes, at::zeros_like(codes)).reshape({-1}),
                                                       {}, at::Reduction::None);
    return (per_word * weight).sum() / weight.sum().clamp_min(1);
}

at::Tensor rhythm_loss(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& defined) {
    if (prediction.sizes() != target.sizes() || defined.sizes() != target.sizes())
        throw std::invalid_argument("heartlang rhythm loss: prediction, target and defined of one shape expected");
    const at::Tensor weight = defined.to(prediction.scalar_type());
    return ((prediction - at::where(defined, target, prediction.detach())).pow(2) * weight).sum() /
           weight.sum().clamp_min(1);
}

at::Tensor form_accuracy(const at::Tensor& logits, const at::Tensor& codes, const at::Tensor& scored) {
    check_form(logits, codes, scored);
    const at::Tensor hit = (logits.argmax(2) == codes) & scored;
    return hit.sum().to(at::kFloat) / scored.sum().clamp_min(1).to(at::kFloat);
}

at::Tensor code_perplexity(const at::Tensor& codes, std::int64_t vocabulary) {
    if (codes.numel() == 0) return at::zeros({});
    const at::Tensor share = at::bincount(codes.reshape({-1}).cpu(), {}, vocabulary).to(at::kDouble) / static_cast<double>(codes.numel());
    return (-(share * share.clamp_min(1e-300).log()).sum()).exp().to(at::kFloat);
}

}  // namespace ecgbench::heartlang
