// Helpers for the tests of individual SSL method plugins (test_byol.cpp, test_cmsc.cpp,
// test_clef.cpp): the plugins come from build/plugins through the registry, as the host loads them.
#pragma once

#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <map>
#include <numbers>
#include <string>
#include <vector>

namespace test_support {

inline ecgbench::Params ssl_params(const std::string& name, const std::map<std::string, ecgbench::ParamValue>& given = {}) {
    return ecgbench::validate_params(registry().require(name, ecgbench::PluginKind::Ssl).manifest().params, given);
}

inline std::shared_ptr<ecgbench::SslMethod> make_method(const std::string& name,
                                                        const std::map<std::string, ecgbench::ParamValue>& given = {}) {
    return registry().make_ssl(name, ssl_params(name, given));
}

inline ecgbench::EncoderInput encoder_input(std::int64_t leads, std::int64_t samples) {
    ecgbench::EncoderInput in;
    in.leads = leads;
    in.samples = samples;
    in.sampling_rate_hz = 100;
    return in;
}

/// The XS ResNet for `leads` × `samples`.
inline ecgbench::EncoderPtr resnet_xs(std::int64_t leads, std::int64_t samples) {
    const auto& spec = registry().require("resnet1d", ecgbench::PluginKind::Encoder).manifest().params;
    return registry().make_encoder("resnet1d", ecgbench::validate_params(spec, {{"size", std::string("XS")}}),
                                   encoder_input(leads, samples));
}

/// What setup() gets from the host, with copy_encoder building a fresh XS ResNet with `encoder`'s state.
inline ecgbench::PretrainContext pretrain_context(ecgbench::Encoder& encoder, std::int64_t leads, std::int64_t samples) {
    ecgbench::PretrainContext ctx;
    ctx.input = encoder_input(leads, samples);
    ctx.embedding_dim = encoder.embedding_dim();
    ctx.batch_size = 8;
    ctx.total_steps = 20;
    ctx.copy_encoder = [&encoder, leads, samples] {
        auto copy = resnet_xs(leads, samples);
        ecgbench::copy_module_state(encoder, *copy);
        return copy;
    };
    return ctx;
}

/// A fixed batch of `b` records that differ in rhythm and lead gains, subjects 0…b−1.
inline ecgbench::Batch fixed_batch(std::int64_t b, std::int64_t leads, std::int64_t t) {
    at::manual_seed(123);
    ecgbench::Batch batch;
    const at::Tensor time = at::arange(t, at::kFloat).div(t).view({1, 1, t});
    const at::Tensor freq = at::arange(1, b + 1, at::kFloat).view({b, 1, 1}) * 1.5;
    batch.signals = (time * freq * 2 * std::numbers::pi).sin() * at::randn({b, leads, 1}) + 0.1 * at::randn({b, leads, t});
    batch.lead_present = at::ones({b, leads}, at::kBool);
    batch.labels = at::zeros({b, 0});
    batch.subjects = at::arange(b, at::kLong);
    batch.rows = at::arange(b, at::kLong);
    return batch;
}

/// `steps` AdamW steps of `method` on one batch, over the parameters that require gradients (as the
/// host does), calling on_step_end after each; returns each step's loss.
inline std::vector<double> train_on_batch(ecgbench::SslMethod& method, ecgbench::Encoder& encoder, const ecgbench::Batch& batch,
                                          int steps) {
    std::vector<at::Tensor> params;
    for (const auto& p : encoder.parameters())
        if (p.requires_grad()) params.push_back(p);
    for (const auto& p : method.parameters())
        if (p.requires_grad()) params.push_back(p);
    torch::optim::AdamW optimiser(params, torch::optim::AdamWOptions(1e-3).weight_decay(1e-4));
    encoder.train();
    method.train(true);
    std::vector<double> losses;
    for (int i = 0; i < steps; ++i) {
        optimiser.zero_grad();
        const at::Tensor loss = method.loss(encoder, batch).total;
        loss.backward();
        optimiser.step();
        method.on_step_end(encoder, {i + 1, steps, 1, 1e-3});
        losses.push_back(loss.item<double>());
    }
    return losses;
}

inline double mean_of(const std::vector<double>& v, std::size_t from, std::size_t to) {
    double s = 0;
    for (std::size_t i = from; i < to; ++i) s += v[i];
    return s / static_cast<double>(to - from);
}

}  // namespace test_support
