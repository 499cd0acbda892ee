// xresnet1d: the PTB-XL benchmark's backbone family (Strodthoff et al. 2020, "Deep learning for
// ECG analysis: benchmarks and insights from PTB-XL"), i.e. fastai's xresnet ("bag of tricks",
// He et al. 2019) with 1-D convolutions of kernel 5. Input [B, leads, T] with any T >= 1; output
// [B, 512 · expansion] after global average pooling, and the last stage's feature map as tokens
// [B, ceil(T / 32), 512 · expansion] (one per 32 input samples).
//
//   input   the read leads (param `leads`), absent ones zeroed, plus one presence channel per lead
//           (param `lead_mask`, default on): C = 2 × leads channels (encoders/common/lead_input.hpp)
//   stem    three conv-BN-ReLU layers C -> 32 (stride 2) -> 32 -> 64, then MaxPool1d(3, s2, p1)
//   stage i (i = 1..4) of `blocks_i` residual blocks of inner width 64/128/256/512 and output width
//           inner · expansion; the first block of stages 2-4 has stride 2. Bottleneck (expansion 4):
//           1x1 conv-BN-ReLU, k5 conv(stride)-BN-ReLU, 1x1 conv-BN; basic (expansion 1): k5
//           conv(stride)-BN-ReLU, k5 conv-BN. The last BN's gamma starts at 0, so each block
//           starts as the identity. Shortcut: AvgPool1d(2, ceil) when striding, then a 1x1 conv-BN
//           when the width changes. ReLU after the sum.
//   pool    mean over time (the benchmark's concat-pool head belongs to the task, not the encoder)
//
// Depths (parameter counts for 12 leads with the lead mask, i.e. 24 input channels; without it
// the first conv has 12 · 32 · 5 = 1,920 fewer weights; the unit tests pin them):
//   18   basic blocks 2-2-2-2, expansion 1 ->  6,304,000 params,  512-d (small, for tests)
//   50   bottleneck 3-4-6-3,   expansion 4 -> 18,488,064 params, 2048-d (xresnet1d50)
//   101  bottleneck 3-4-23-3,  expansion 4 -> 33,023,744 params, 2048-d (xresnet1d101)
// Simplified: no self-attention or squeeze-excitation options, no dropout (fastai's defaults).
#include "common/lead_input.hpp"
#include "ecgbench/plugin.hpp"

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;

constexpr std::int64_t kKernel = 5;
constexpr int kHalvings = 5;  // stem conv, max-pool, stages 2-4
constexpr std::int64_t kStride = 32;

struct Architecture {
    std::array<int, 4> blocks;
    std::int64_t expansion;
};

Architecture architecture(const std::string& depth) {
    if (depth == "18") return {{2, 2, 2, 2}, 1};
    if (depth == "50") return {{3, 4, 6, 3}, 4};
    if (depth == "101") return {{3, 4, 23, 3}, 4};
    throw std::invalid_argument("xresnet1d: unknown depth '" + depth + "' (expected 18, 50 or 101)");
}

/// fastai's ConvLayer: conv (no bias: BN follows) - BN - optional ReLU; `zero_gamma` starts BN's
/// scale at 0 (the last layer of a residual path).
class ConvLayer : public nn::Module {
public:
    ConvLayer(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, bool relu, bool zero_gamma = false)
        : conv_(register_module("conv", nn::Conv1d(nn::Conv1dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)))),
          bn_(register_module("bn", nn::BatchNorm1d(out))), relu_(relu), zero_gamma_(zero_gamma) {}

    at::Tensor forward(const at::Tensor& x) {
        at::Tensor y = bn_->forward(conv_->forward(x));
        return relu_ ? y.relu() : y;
    }
    bool zero_gamma() const { return zero_gamma_; }
    nn::BatchNorm1d& bn() { return bn_; }

private:
    nn::Conv1d conv_;
    nn::BatchNorm1d bn_;
    bool relu_;
    bool zero_gamma_;
};

class ResBlock : public nn::Module {
public:
    ResBlock(std::int64_t expansion, std::int64_t in, std::int64_t inner, std::int64_t stride) {
        const std::int64_t out = inner * expansion;
        if (expansion == 1) {
            path_.push_back(std::make_shared<ConvLayer>(in, inner, kKernel, stride, true));
            path_.push_back(std::make_shared<ConvLayer>(inner, out, kKernel, 1, false, true));
        } else {
            path_.push_back(std::make_shared<ConvLayer>(in, inner, 1, 1, true));
            path_.push_back(std::make_shared<ConvLayer>(inner, inner, kKernel, stride, true));
            path_.push_back(std::make_shared<ConvLayer>(inner, out, 1, 1, false, true));
        }
        for (std::size_t i = 0; i < path_.size(); ++i) register_module("conv" + std::to_string(i + 1), path_[i]);
        // Average-pool before the projection (fastai, "ResNet-D"): the shortcut sees every sample.
        if (stride != 1) pool_ = register_module("shortcut_pool", nn::AvgPool1d(nn::AvgPool1dOptions(stride).stride(stride).ceil_mode(true)));
        if (in != out) shortcut_ = register_module("shortcut", std::make_shared<ConvLayer>(in, out, 1, 1, false));
    }

    at::Tensor forward(const at::Tensor& x) {
        at::Tensor y = x;
        for (const auto& layer : path_) y = layer->forward(y);
        at::Tensor identity = pool_ ? pool_->forward(x) : x;
        if (shortcut_) identity = shortcut_->forward(identity);
        return (y + identity).relu();
    }

private:
    std::vector<std::shared_ptr<ConvLayer>> path_;
    nn::AvgPool1d pool_{nullptr};
    std::shared_ptr<ConvLayer> shortcut_;
};

class XResNet1d : public ecgbench::Encoder {
public:
    XResNet1d(const ecgbench::Params& params, const ecgbench::EncoderInput& input)
        : input_("xresnet1d", params, input), samples_(input.samples) {
        const Architecture arch = architecture(params.get_string("depth"));
        const std::array<std::int64_t, 3> stem{32, 32, 64};
        std::int64_t in = input_.channels();
        for (std::size_t i = 0; i < stem.size(); ++i) {
            stem_.push_back(register_module("stem" + std::to_string(i + 1), std::make_shared<ConvLayer>(in, stem[i], kKernel, i == 0 ? 2 : 1, true)));
            in = stem[i];
        }
        pool_ = register_module("maxpool", nn::MaxPool1d(nn::MaxPool1dOptions(3).stride(2).padding(1)));
        const std::array<std::int64_t, 4> inner{64, 128, 256, 512};
        for (std::size_t stage = 0; stage < inner.size(); ++stage) {
            auto layer = register_module("layer" + std::to_string(stage + 1), std::make_shared<nn::Module>());
            for (int b = 0; b < arch.blocks[stage]; ++b) {
                auto block = std::make_shared<ResBlock>(arch.expansion, in, inner[stage], stage > 0 && b == 0 ? 2 : 1);
                layer->register_module(std::to_string(b), block);
                blocks_.push_back(block);
                in = inner[stage] * arch.expansion;
            }
        }
        embedding_dim_ = in;
        initialise();
    }

    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& batch) override {
        at::Tensor x = input_.prepare(batch, kStride, token_count());
        for (const auto& layer : stem_) x = layer->forward(x);
        x = pool_->forward(x);
        for (const auto& block : blocks_) x = block->forward(x);
        return {x.mean(-1), x.transpose(1, 2)};  // global average pool; tokens [B, T', D]
    }

    std::int64_t embedding_dim() const override { return embedding_dim_; }
    std::int64_t token_count() const override { return ecgbench::encoders::strided_length(samples_, kHalvings); }

private:
    // fastai's init_cnn: He-normal (fan_in) convolutions; BN gamma 1, beta 0, except the zero-gamma
    // BN closing each residual path.
    void initialise() {
        torch::NoGradGuard no_grad;
        for (auto& module : modules(/*include_self=*/false)) {
            if (auto* c = module->as<nn::Conv1d>()) {
                nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanIn, torch::kReLU);
            } else if (auto* layer = module->as<ConvLayer>()) {
                nn::init::constant_(layer->bn()->weight, layer->zero_gamma() ? 0.0 : 1.0);
                nn::init::zeros_(layer->bn()->bias);
            }
        }
    }

    ecgbench::encoders::LeadInput input_;
    std::int64_t samples_;
    std::int64_t embedding_dim_ = 0;
    std::vector<std::shared_ptr<ConvLayer>> stem_;
    nn::MaxPool1d pool_{nullptr};
    std::vector<std::shared_ptr<ResBlock>> blocks_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"xresnet1d",
                  ecgbench::PluginKind::Encoder,
                  "1.0.0",
                  "xresnet1d (Strodthoff et al. 2020, fastai xresnet in 1-D, kernel 5): 3-conv stem, zero-gamma "
                  "residual blocks, avg-pool shortcuts; lead mask input; tokens = last feature map (1 per 32 samples)",
                  std::vector<ecgbench::ParamSpec>{param::choice(
                      "depth", "50", {"18", "50", "101"},
                      "params for 12 leads with the lead mask: 18 = basic blocks 2-2-2-2, 512-d (6,304,000); "
                      "50 = bottleneck 3-4-6-3, 2048-d (18,488,064); 101 = bottleneck 3-4-23-3, 2048-d (33,023,744)")} +
                      ecgbench::encoders::lead_input_params(),
                  /*needs=*/{},
                  /*provides=*/{"tokens"}};
    d.make_encoder = [](const ecgbench::Params& p, const ecgbench::EncoderInput& in) -> ecgbench::EncoderPtr {
        return std::make_shared<XResNet1d>(p, in);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
