// Small heads shared by SSL methods, so that methods built on the same head (SimCLR's projection
// MLP) are one implementation and their checkpoints keep the same parameter names.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>

namespace ecgbench {

/// SimCLR's projection head, Linear(in→in)–ReLU–Linear(in→out), without BatchNorm (the paper's
/// large-batch variant adds BN). Parameters are named hidden.* and output.*.
class ProjectionHead : public torch::nn::Module {
public:
    ProjectionHead(std::int64_t in, std::int64_t out)
        : hidden_(register_module("hidden", torch::nn::Linear(in, in))),
          output_(register_module("output", torch::nn::Linear(in, out))) {}

    at::Tensor forward(const at::Tensor& x) { return output_->forward(hidden_->forward(x).relu()); }

private:
    torch::nn::Linear hidden_;
    torch::nn::Linear output_;
};

}  // namespace ecgbench
