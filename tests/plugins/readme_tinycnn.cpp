// The plugin guide's (docs/plugins.md) encoder example, verbatim, built and exercised by the tests so the
// documentation cannot rot. (In a real tree it would live in plugins/encoders/tinycnn/.)
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/conv.h>

namespace {
namespace nn = torch::nn;

class TinyCnn : public ecgbench::Encoder {
public:
    TinyCnn(const ecgbench::Params& p, const ecgbench::EncoderInput& in) : width_(p.get_int("width")) {
        conv1_ = register_module("conv1", nn::Conv1d(nn::Conv1dOptions(in.leads, width_, 7).stride(2)));
        conv2_ = register_module("conv2", nn::Conv1d(nn::Conv1dOptions(width_, width_, 7).stride(2)));
    }
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& in) override {
        return {conv2_->forward(conv1_->forward(in.signals).relu()).relu().mean(2), {}};  // [B, width], no tokens
    }
    std::int64_t embedding_dim() const override { return width_; }

private:
    std::int64_t width_;
    nn::Conv1d conv1_{nullptr}, conv2_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"tinycnn", ecgbench::PluginKind::Encoder, "1.0.0", "two-layer CNN (example)",
                  {{"width", ecgbench::ParamType::Int, std::int64_t{32}, "channels", 1.0, 4096.0, {}}}};
    d.make_encoder = [](const ecgbench::Params& p, const ecgbench::EncoderInput& in) {
        return std::make_shared<TinyCnn>(p, in);
    };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
