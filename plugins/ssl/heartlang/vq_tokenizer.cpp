#include "vq_tokenizer.hpp"

#include "beat_vocabulary.hpp"

#include <ATen/ATen.h>
#include <torch/nn/functional/normalization.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ecgbench::heartlang {

namespace nn = torch::nn;

namespace {

at::Tensor unit(const at::Tensor& x) { return nn::functional::normalize(x, nn::functional::NormalizeFuncOptions().dim(1)); }

}  // namespace

Quantised quantise(const at::Tensor& z, const at::Tensor& codebook, double beta) {
    Quantised out;
    out.codes = nearest_centre(z.detach(), codebook);  // unit vectors: the nearest is the most similar
    const at::Tensor q = codebook.index_select(0, out.codes);
    out.quantised = z + (q - z).detach();
    out.commitment = beta * (z - q.detach()).pow(2).sum(1).mean();
    return out;
}

at::Tensor ema_codebook(const at::Tensor& codebook, const at::Tensor& z, const at::Tensor& codes, double decay) {
    const std::int64_t k = codebook.size(0);
    const at::Tensor sums = at::zeros_like(codebook).index_add_(0, codes, z.detach());
    const at::Tensor counts = at::bincount(codes, {}, k).to(codebook.scalar_type()).unsqueeze(1);
    const at::Tensor moved = unit(decay * codebook + (1 - decay) * sums / counts.clamp_min(1));
    return at::where(counts > 0, moved, codebook);
}

VqTokenizerImpl::VqTokenizerImpl(std::int64_t window, const VqOptions& options) : options_(options) {
    if (window < 1 || options.codes < 2 || options.dim < 1 || options.hidden < 1)
        throw std::invalid_argument("vq tokenizer: window ≥ 1, codes ≥ 2, dim ≥ 1 and hidden ≥ 1 expected");
    encoder_ = register_module("encoder", nn::Sequential(nn::Linear(window, options.hidden), nn::GELU(),
                                                         nn::Linear(options.hidden, options.dim)));
    decoder_ = register_module("decoder", nn::Sequential(nn::Linear(options.dim, options.hidden), nn::GELU(),
                                                         nn::Linear(options.hidden, window)));
    codebook_ = register_buffer("codebook", at::zeros({options.codes, options.dim}));
    scale_ = register_buffer("scale", at::ones({}));
}

at::Tensor VqTokenizerImpl::embed(const at::Tensor& words) { return unit(encoder_->forward(words / scale_)); }

at::Tensor VqTokenizerImpl::codes(const at::Tensor& words) {
    torch::NoGradGuard no_grad;
    return nearest_centre(embed(words), codebook_);
}

VqFit VqTokenizerImpl::fit(const at::Tensor& words_in) {
    if (words_in.dim() != 2 || words_in.size(0) == 0)
        throw std::invalid_argument("vq tokenizer: fit() needs words [P ≥ 1, window]");
    const at::Tensor words = words_in.to(at::kFloat).contiguous();
    const std::int64_t p = words.size(0), k = options_.codes;
    {
        torch::NoGradGuard no_grad;
        scale_.fill_(std::max(words.std().item<double>(), 1e-6));
        codebook_.copy_(unit(fit_kmeans(embed(words), k, 20)));
    }
    torch::optim::AdamW optimiser(parameters(), torch::optim::AdamWOptions(options_.learning_rate));
    at::Tensor idle = at::zeros({k}, at::kLong);
    for (std::int64_t step = 0; step < options_.steps; ++step) {
        const at::Tensor x = words.index_select(0, at::randint(p, {std::min(options_.batch, p)}, at::kLong)) / scale_;
        const at::Tensor z = unit(encoder_->forward(x));
        const Quantised q = quantise(z, codebook_, options_.beta);
        const at::Tensor loss = (decoder_->forward(q.quantised) - x).pow(2).mean() + q.commitment;
        optimiser.zero_grad();
        loss.backward();
        optimiser.step();
        torch::NoGradGuard no_grad;
        codebook_.copy_(ema_codebook(codebook_, z, q.codes, options_.decay));
        idle = at::where(at::bincount(q.codes, {}, k) > 0, at::zeros_like(idle), idle + 1);
        const at::Tensor dead = (idle >= options_.restart_after).nonzero().squeeze(1);
        if (dead.numel() > 0) {
            codebook_.index_copy_(0, dead, z.detach().index_select(0, at::randint(z.size(0), {dead.numel()}, at::kLong)));
            idle.index_fill_(0, dead, 0);
        }
    }
    torch::NoGradGuard no_grad;
    const at::Tensor z = embed(words);
    const at::Tensor chosen = nearest_centre(z, codebook_);
    const at::Tensor histogram = at::bincount(chosen, {}, k).to(at::kDouble) / static_cast<double>(p);
    VqFit report;
    report.reconstruction_mse = (decoder_->forward(codebook_.index_select(0, chosen)) - words / scale_).pow(2).mean().item<double>();
    report.used_share = (histogram > 0).sum().item<double>() / static_cast<double>(k);
    report.perplexity = std::exp(-(histogram * histogram.clamp_min(1e-12).log()).sum().item<double>());
    return report;
}

}  // namespace ecgbench::heartlang
