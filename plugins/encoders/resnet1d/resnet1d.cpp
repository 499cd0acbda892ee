// resnet1d: a 1-D ResNet encoder for multi-lead ECG, the torchvision ResNet-18 layout (He et al.
// 2016) with temporal convolutions. Input [B, leads, T] with any T >= 1; output [B, width of the
// last stage] after global average pooling over time.
//
//   stem    Conv1d(leads -> w0, k15, s2, p7, no bias) - BN - ReLU - MaxPool1d(3, s2, p1)
//   stage i (i = 1..4) of `blocks` basic blocks of width w_i; the first block of stages 2-4 has
//           stride 2. Basic block: conv k7 p3 - BN - ReLU - conv k7 p3 - BN, plus a 1x1 conv + BN
//           shortcut when width or stride changes, ReLU after the sum.
//   pool    mean over time
//
// Sizes (parameter counts for 12 leads; the unit tests pin them):
//   XS  widths 16/32/64/128,   1 block per stage ->   244,448 params, 128-d (quick starts, tests)
//   S   widths 64/128/256/512, 2 blocks per stage -> 8,737,408 params, 512-d (ResNet-18 layout)
//   M   widths 64/128/256/512, 3 blocks per stage -> 13,615,488 params, 512-d
// Kernel 7 (vs 3 in images) widens the receptive field to cover a QRS complex at 250-500 Hz early.
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
    int blocks_per_stage;
};

Architecture architecture(const std::string& size) {
    if (size == "XS") return {{16, 32, 64, 128}, 1};
    if (size == "S") return {{64, 128, 256, 512}, 2};
    if (size == "M") return {{64, 128, 256, 512}, 3};
    throw std::invalid_argument("resnet1d: unknown size '" + size + "' (expected XS, S or M)");
}

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
    ResNet1d(const ecgbench::Params& params, const ecgbench::EncoderInput& input) : leads_(input.leads) {
        if (leads_ < 1) {
            throw std::invalid_argument("resnet1d: the input must have at least one lead");
        }
        const Architecture arch = architecture(params.get_string("size"));
        conv1_ = register_module("conv1", conv(leads_, arch.widths[0], 15, 2, 7));
        bn1_ = register_module("bn1", nn::BatchNorm1d(arch.widths[0]));
        pool_ = register_module("maxpool", nn::MaxPool1d(nn::MaxPool1dOptions(3).stride(2).padding(1)));

        // Named like torchvision (layer1.0.conv1.weight …) so state dicts read familiarly.
        std::int64_t in = arch.widths[0];
        for (std::size_t stage = 0; stage < arch.widths.size(); ++stage) {
            auto layer = register_module("layer" + std::to_string(stage + 1), std::make_shared<nn::Module>());
            for (int b = 0; b < arch.blocks_per_stage; ++b) {
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
        const at::Tensor& signals = batch.signals;
        if (signals.dim() != 3 || signals.size(1) != leads_) {
            throw std::invalid_argument("resnet1d: expected signals [B, " + std::to_string(leads_) +
                                        ", T], got " + std::to_string(signals.dim()) + "-d input with " +
                                        (signals.dim() > 1 ? std::to_string(signals.size(1)) : std::string("?")) +
                                        " leads");
        }
        at::Tensor x = pool_->forward(bn1_->forward(conv1_->forward(signals)).relu());
        for (const auto& block : blocks_) {
            x = block->forward(x);
        }
        return {x.mean(-1), {}};  // global average pool over time; no tokens
    }

    std::int64_t embedding_dim() const override { return embedding_dim_; }

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

    std::int64_t leads_;
    std::int64_t embedding_dim_ = 0;
    nn::Conv1d conv1_{nullptr};
    nn::BatchNorm1d bn1_{nullptr};
    nn::MaxPool1d pool_{nullptr};
    std::vector<std::shared_ptr<BasicBlock>> blocks_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"resnet1d",
                  ecgbench::PluginKind::Encoder,
                  "1.0.0",
                  "1-D ResNet (ResNet-18 layout, kernel 7): XS 16-128 wide 1 block/stage, S 64-512 2 blocks, "
                  "M 64-512 3 blocks",
                  {{"size", ecgbench::ParamType::String, std::string("S"),
                    "XS: widths 16/32/64/128, 1 block/stage, 128-d (~0.24M params); S: 64/128/256/512, "
                    "2 blocks/stage, 512-d (8.7M); M: 64/128/256/512, 3 blocks/stage, 512-d (13.6M)",
                    {}, {}, {"XS", "S", "M"}}}};
    d.make_encoder = [](const ecgbench::Params& p, const ecgbench::EncoderInput& in) -> ecgbench::EncoderPtr {
        return std::make_shared<ResNet1d>(p, in);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
