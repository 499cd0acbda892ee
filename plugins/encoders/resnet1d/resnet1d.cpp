// resnet1d: a 1-D ResNet encoder for multi-lead ECG, the torchvision ResNet-18/34 layouts (He et
// al. 2016) with temporal convolutions. Input [B, leads, T] with any T >= 1; output [B, width of
// the last stage] after global average pooling over time, and the last stage's feature map as
// tokens [B, ceil(T / 32), width] (one per 32 input samples).
//
//   input   the read leads (param `leads`), absent ones zeroed, plus one presence channel per lead
//           (param `lead_mask`, default on): C = 2 × leads channels (encoders/common/lead_input.hpp)
//   stem    Conv1d(C -> w0, k15, s2, p7, no bias) - BN - ReLU - MaxPool1d(3, s2, p1)
//   stage i (i = 1..4) of `blocks_i` basic blocks of width w_i; the first block of stages 2-4 has
//           stride 2. Basic block: conv k7 p3 - BN - ReLU - conv k7 p3 - BN, plus a 1x1 conv + BN
//           shortcut when width or stride changes, ReLU after the sum.
//   pool    mean over time
//
// Sizes (parameter counts for 12 leads with the lead mask, i.e. 24 input channels; without it the
// stem has 12 · w0 · 15 fewer weights; the unit tests pin them):
//   XS  widths 16/32/64/128,   1-1-1-1 blocks ->    247,328 params, 128-d (quick starts, tests)
//   S   widths 64/128/256/512, 2-2-2-2 blocks ->  8,748,928 params, 512-d (ResNet-18 layout)
//   M   widths 64/128/256/512, 3-3-3-3 blocks -> 13,627,008 params, 512-d
//   L   widths 64/128/256/512, 3-4-6-3 blocks -> 16,612,480 params, 512-d (ResNet-34 layout)
// Kernel 7 (vs 3 in images) widens the receptive field to cover a QRS complex at 250-500 Hz early.
#include "common/lead_input.hpp"
#include "ecgbench/plugin.hpp"

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;

struct Architecture {
    std::array<std::int64_t, 4> widths;
    std::array<int, 4> blocks;  // per stage
};

Architecture architecture(const std::string& size) {
    if (size == "XS") return {{16, 32, 64, 128}, {1, 1, 1, 1}};
    if (size == "S") return {{64, 128, 256, 512}, {2, 2, 2, 2}};
    if (size == "M") return {{64, 128, 256, 512}, {3, 3, 3, 3}};
    if (size == "L") return {{64, 128, 256, 512}, {3, 4, 6, 3}};
    throw std::invalid_argument("resnet1d: unknown size '" + size + "' (expected XS, S, M or L)");
}

// Stride-2 stages between input and tokens: stem conv, max-pool, stages 2-4.
constexpr int kHalvings = 5;
constexpr std::int64_t kStride = 32;

nn::Conv1d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
    // No bias: every convolution is followed by BatchNorm, whose shift makes a bias redundant.
    return nn::Conv1d(nn::Conv1dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

class BasicBlock : public nn::Module {
public:
    BasicBlock(std::int64_t in, std::int64_t out, std::int64_t stride)
        : conv1_(register_module("conv1", conv(in, out, 7, stride, 3))),
          bn1_(register_module("bn1", nn::BatchNorm1d(out))),
          conv2_(register_module("conv2", conv(out, out, 7, 1, 3))),
          bn2_(register_module("bn2", nn::BatchNorm1d(out))) {
        if (in != out || stride != 1) {
            shortcut_conv_ = register_module("shortcut_conv", conv(in, out, 1, stride, 0));
            shortcut_bn_ = register_module("shortcut_bn", nn::BatchNorm1d(out));
        }
    }

    at::Tensor forward(const at::Tensor& x) {
        at::Tensor y = bn1_->forward(conv1_->forward(x)).relu();
        y = bn2_->forward(conv2_->forward(y));
        const at::Tensor identity = shortcut_conv_ ? shortcut_bn_->forward(shortcut_conv_->forward(x)) : x;
        return (y + identity).relu();
    }

private:
    nn::Conv1d conv1_;
    nn::BatchNorm1d bn1_;
    nn::Conv1d conv2_;
    nn::BatchNorm1d bn2_;
    nn::Conv1d shortcut_conv_{nullptr};
    nn::BatchNorm1d shortcut_bn_{nullptr};
};

class ResNet1d : public ecgbench::Encoder {
public:
    ResNet1d(const ecgbench::Params& params, const ecgbench::EncoderInput& input)
        : input_("resnet1d", params, input), samples_(input.samples) {
        const Architecture arch = architecture(params.get_string("size"));
        conv1_ = register_module("conv1", conv(input_.channels(), arch.widths[0], 15, 2, 7));
        bn1_ = register_module("bn1", nn::BatchNorm1d(arch.widths[0]));
        pool_ = register_module("maxpool", nn::MaxPool1d(nn::MaxPool1dOptions(3).stride(2).padding(1)));

        // Named like torchvision (layer1.0.conv1.weight …) so state dicts read familiarly.
        std::int64_t in = arch.widths[0];
        for (std::size_t stage = 0; stage < arch.widths.size(); ++stage) {
            auto layer = register_module("layer" + std::to_string(stage + 1), std::make_shared<nn::Module>());
            for (int b = 0; b < arch.blocks[stage]; ++b) {
                const std::int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
                auto block = std::make_shared<BasicBlock>(in, arch.widths[stage], stride);
                layer->register_module(std::to_string(b), block);
                blocks_.push_back(block);
                in = arch.widths[stage];
            }
        }
        embedding_dim_ = in;
        initialise();
    }

    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& batch) override {
        const at::Tensor signals = input_.prepare(batch, kStride, token_count());
        at::Tensor x = pool_->forward(bn1_->forward(conv1_->forward(signals)).relu());
        for (const auto& block : blocks_) {
            x = block->forward(x);
        }
        return {x.mean(-1), x.transpose(1, 2)};  // global average pool over time; tokens [B, T', D]
    }

    std::int64_t embedding_dim() const override { return embedding_dim_; }
    std::int64_t token_count() const override { return ecgbench::encoders::strided_length(samples_, kHalvings); }

private:
    // torchvision's ResNet initialisation: He-normal (fan_out) convolutions, BN as identity. The
    // LibTorch default (uniform with a = √5) trains noticeably slower for deep ReLU stacks.
    void initialise() {
        torch::NoGradGuard no_grad;
        for (auto& module : modules(/*include_self=*/false)) {
            if (auto* c = module->as<nn::Conv1d>()) {
                nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
            } else if (auto* bn = module->as<nn::BatchNorm1d>()) {
                nn::init::ones_(bn->weight);
                nn::init::zeros_(bn->bias);
            }
        }
    }

    ecgbench::encoders::LeadInput input_;
    std::int64_t samples_;
    std::int64_t embedding_dim_ = 0;
    nn::Conv1d conv1_{nullptr};
    nn::BatchNorm1d bn1_{nullptr};
    nn::MaxPool1d pool_{nullptr};
    std::vector<std::shared_ptr<BasicBlock>> blocks_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"resnet1d",
                  ecgbench::PluginKind::Encoder,
                  "2.0.0",
                  "1-D ResNet (ResNet-18/34 layouts, kernel 7), lead mask input, tokens = last feature map (1 per 32 "
                  "samples): XS 16-128 wide 1 block/stage, S 64-512 2 blocks, M 3 blocks, L 3-4-6-3",
                  std::vector<ecgbench::ParamSpec>{param::choice(
                      "size", "S", {"XS", "S", "M", "L"},
                      "params for 12 leads with the lead mask: XS widths 16/32/64/128, 1 block/stage, 128-d (247,328); "
                      "S 64/128/256/512, 2 blocks/stage, 512-d (8,748,928); M 3 blocks/stage, 512-d (13,627,008); "
                      "L 3-4-6-3 blocks, 512-d (16,612,480)")} +
                      ecgbench::encoders::lead_input_params(),
                  /*needs=*/{},
                  /*provides=*/{"tokens"}};
    d.make_encoder = [](const ecgbench::Params& p, const ecgbench::EncoderInput& in) -> ecgbench::EncoderPtr {
        return std::make_shared<ResNet1d>(p, in);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
