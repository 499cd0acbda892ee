#include "lead_reconstruction/unet.hpp"

#include "ecgbench/metrics.hpp"

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/utils.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace ecgbench::lead_reconstruction {
namespace {

namespace nn = torch::nn;

nn::Sequential block(std::int64_t in, std::int64_t out, std::int64_t kernel) {
    auto conv = [&](std::int64_t from) { return nn::Conv1d(nn::Conv1dOptions(from, out, kernel).padding(kernel / 2).bias(false)); };
    return nn::Sequential(conv(in), nn::BatchNorm1d(out), nn::ReLU(), conv(out), nn::BatchNorm1d(out), nn::ReLU());
}

}  // namespace

UNetImpl::UNetImpl(const UNetOptions& options) : options_(options) {
    if (options.in_leads < 1 || options.out_leads < 1 || options.width < 1 || options.depth < 1)
        throw std::invalid_argument("U-Net: leads, width and depth must be positive");
    if (options.kernel < 1 || options.kernel % 2 == 0)
        throw std::invalid_argument("U-Net: kernel must be odd (same-length convolutions), got " + std::to_string(options.kernel));
    down_ = register_module("down", nn::ModuleList());
    up_ = register_module("up", nn::ModuleList());
    merge_ = register_module("merge", nn::ModuleList());
    std::int64_t channels = options.in_leads;
    for (std::int64_t level = 0; level < options.depth; ++level) {
        const std::int64_t width = options.width << level;
        down_->push_back(block(channels, width, options.kernel));
        up_->push_back(nn::Conv1d(nn::Conv1dOptions(2 * width, width, 1)));
        merge_->push_back(block(2 * width, width, options.kernel));
        channels = width;
    }
    bottleneck_ = register_module("bottleneck", block(channels, 2 * channels, options.kernel));
    if (options.condition_dim > 0) condition_ = register_module("condition", nn::Linear(options.condition_dim, 2 * channels));
    output_ = register_module("output", nn::Conv1d(nn::Conv1dOptions(options.width, options.out_leads, 1)));
    linear_ = register_module("linear", nn::Conv1d(nn::Conv1dOptions(options.in_leads, options.out_leads, 1)));
    torch::NoGradGuard no_grad;
    output_->weight.zero_();
    output_->bias.zero_();
}

void UNetImpl::set_linear_path(const at::Tensor& weight, const at::Tensor& bias) {
    torch::NoGradGuard no_grad;
    linear_->weight.copy_(weight.reshape(linear_->weight.sizes()));
    linear_->bias.copy_(bias.reshape(linear_->bias.sizes()));
}

at::Tensor UNetImpl::forward(const at::Tensor& x, const at::Tensor& condition) {
    if (x.dim() != 3 || x.size(1) != options_.in_leads)
        throw std::invalid_argument("U-Net: expected input [B, " + std::to_string(options_.in_leads) + ", T]");
    if (x.size(2) < (std::int64_t{1} << options_.depth))
        throw std::invalid_argument("U-Net: " + std::to_string(options_.depth) + " levels need at least " +
                                    std::to_string(std::int64_t{1} << options_.depth) + " samples, records have " +
                                    std::to_string(x.size(2)));
    std::vector<at::Tensor> skips;
    at::Tensor h = x;
    for (std::int64_t level = 0; level < options_.depth; ++level) {
        h = down_[static_cast<std::size_t>(level)]->as<nn::Sequential>()->forward(h);
        skips.push_back(h);
        h = at::max_pool1d(h, {2});
    }
    h = bottleneck_->forward(h);
    if (condition_) {
        if (!condition.defined()) throw std::invalid_argument("U-Net: built with a condition vector, called without one");
        h = h + condition_->forward(condition).unsqueeze(-1);
    }
    for (std::int64_t level = options_.depth - 1; level >= 0; --level) {
        const at::Tensor& skip = skips[static_cast<std::size_t>(level)];
        h = nn::functional::interpolate(
            h, nn::functional::InterpolateFuncOptions().size(std::vector<std::int64_t>{skip.size(2)}).mode(torch::kLinear).align_corners(false));
        h = up_[static_cast<std::size_t>(level)]->as<nn::Conv1d>()->forward(h);
        h = merge_[static_cast<std::size_t>(level)]->as<nn::Sequential>()->forward(at::cat({skip, h}, 1));
    }
    return output_->forward(h) + linear_->forward(x);
}

LeadScores score_reconstruction(const at::Tensor& predicted, const at::Tensor& target, const at::Tensor& present) {
    if (predicted.sizes() != target.sizes() || predicted.dim() != 3)
        throw std::invalid_argument("score_reconstruction: predicted and target must both be [N, L, T]");
    const std::int64_t n = target.size(0), leads = target.size(1), samples = target.size(2);
    const at::Tensor p = predicted.to(at::kDouble).contiguous(), t = target.to(at::kDouble).contiguous();
    const at::Tensor mask = present.defined() ? present.to(at::kBool).contiguous() : at::ones({n, leads}, at::kBool);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    LeadScores s;
    s.record_r.assign(static_cast<std::size_t>(n), std::vector<double>(static_cast<std::size_t>(leads), nan));
    s.record_rmse = s.record_r;
    s.mean_r.assign(static_cast<std::size_t>(leads), nan);
    s.mean_rmse = s.mean_r;
    s.records.assign(static_cast<std::size_t>(leads), 0);
    std::vector<double> sum_r(static_cast<std::size_t>(leads), 0), sum_rmse(static_cast<std::size_t>(leads), 0);
    std::vector<std::int64_t> rmse_records(static_cast<std::size_t>(leads), 0);
    const double* pp = p.data_ptr<double>();
    const double* tp = t.data_ptr<double>();
    const bool* mp = mask.data_ptr<bool>();
    for (std::int64_t r = 0; r < n; ++r) {
        for (std::int64_t l = 0; l < leads; ++l) {
            if (!mp[r * leads + l]) continue;
            const std::int64_t offset = (r * leads + l) * samples;
            const auto m = regression_metrics({pp + offset, pp + offset + samples}, {tp + offset, tp + offset + samples});
            const auto lead = static_cast<std::size_t>(l);
            s.record_rmse[static_cast<std::size_t>(r)][lead] = m.rmse;
            sum_rmse[lead] += m.rmse;
            ++rmse_records[lead];
            if (std::isnan(m.pearson_r)) continue;
            s.record_r[static_cast<std::size_t>(r)][lead] = m.pearson_r;
            sum_r[lead] += m.pearson_r;
            ++s.records[lead];
        }
    }
    for (std::size_t l = 0; l < static_cast<std::size_t>(leads); ++l) {
        if (s.records[l] > 0) s.mean_r[l] = sum_r[l] / static_cast<double>(s.records[l]);
        if (rmse_records[l] > 0) s.mean_rmse[l] = sum_rmse[l] / static_cast<double>(rmse_records[l]);
    }
    return s;
}

}  // namespace ecgbench::lead_reconstruction
