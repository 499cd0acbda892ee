// HeartLang's learned heartbeat vocabulary (VQ-HBR) in brief: a vector-quantised autoencoder over
// single-lead beat words, after the VQ-VAE mechanism (van den Oord, Vinyals & Kavukcuoglu 2017) with
// the unit-norm codebook of the BEiT v2 / LaBraM tokenizers HeartLang builds on. An MLP encoder maps
// a word (scaled by the fitted words' standard deviation) to a unit vector z; z is replaced by the
// nearest of K unit codes q; the straight-through estimator passes the decoder's gradient past the
// choice; the loss is the decoder's MSE on the word plus β‖z − sg(q)‖² (commitment). The codebook
// is not trained by gradient: after every step each chosen code moves toward the mean of the
// vectors that chose it (EMA with decay γ, re-normalised); it starts as k-means of the untrained
// encoder's outputs, and a code no vector chose for `restart_after` steps moves to a random vector of
// the batch. Fitted once, before pretraining (HeartLang's first stage), then frozen: a word's code is
// the index of its nearest code.
// What it simplifies: MLPs (HeartLang's tokenizer is a transformer over a record's beats), one
// vector per word, a codebook sized by `vocabulary_size` (HeartLang: 8192 entries), the signal
// reconstructed in time only.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace ecgbench::heartlang {

struct VqOptions {
    std::int64_t codes = 256;     ///< K
    std::int64_t dim = 32;        ///< code dimension
    std::int64_t hidden = 128;    ///< MLP width
    std::int64_t steps = 3000;    ///< optimiser steps of the fit
    std::int64_t batch = 256;     ///< words per step
    double learning_rate = 1e-3;  ///< AdamW
    double beta = 0.25;           ///< commitment weight
    double decay = 0.99;          ///< codebook EMA decay γ
    std::int64_t restart_after = 100;
};

/// Straight-through quantisation of unit vectors `z` [P, D] by unit `codebook` [K, D]: codes
/// (int64 [P], the nearest code; ties: the lowest index), `quantised` = z + sg(q − z) (the value of
/// q, the gradient of z) and `commitment` = β · mean over P of ‖z − sg(q)‖².
struct Quantised {
    at::Tensor codes, quantised, commitment;
};
Quantised quantise(const at::Tensor& z, const at::Tensor& codebook, double beta);

/// One EMA step of the codebook: each code chosen by some rows of `z` becomes normalise(γ·c + (1 − γ)
/// · mean of those rows); the others stay. Returns the new codebook [K, D].
at::Tensor ema_codebook(const at::Tensor& codebook, const at::Tensor& z, const at::Tensor& codes, double decay);

/// What a fit measured, over all the fitted words with the final tokenizer.
struct VqFit {
    double reconstruction_mse = 0;  ///< per sample, in scaled units (the words' variance = 1)
    double used_share = 0;          ///< codes chosen by at least one word / K
    double perplexity = 0;          ///< exp(entropy of the code histogram)
};

class VqTokenizerImpl : public torch::nn::Module {
public:
    VqTokenizerImpl(std::int64_t window, const VqOptions& options);
    /// Unit vectors [P, D] of words [P, window].
    at::Tensor embed(const at::Tensor& words);
    /// The code of each word: int64 [P].
    at::Tensor codes(const at::Tensor& words);
    /// Trains encoder, decoder and codebook on `words` [P ≥ 1, window] (the global generator draws
    /// batches, the k-means start and restarts).
    VqFit fit(const at::Tensor& words);

private:
    VqOptions options_;
    torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
    at::Tensor codebook_, scale_;  // buffers: in the checkpoint
};
TORCH_MODULE(VqTokenizer);

}  // namespace ecgbench::heartlang
