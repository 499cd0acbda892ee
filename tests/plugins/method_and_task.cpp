// One library registering two plugins: an SSL method with a "text tower" (here a learned
// per-class prototype table, enough to exercise the mechanism) and the task that reads it back
// from the checkpoint through EvalContext::pretrained_method.
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/linear.h>

#include <stdexcept>

namespace {
namespace nn = torch::nn;

class TowerMethod : public ecgbench::SslMethod {
public:
    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        tower = register_module("tower", nn::Linear(context.embedding_dim, 3));
        marker = register_buffer("marker", torch::full({1}, 42.0));
    }
    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        const at::Tensor z = tower->forward(encoder.encode({batch.signals, batch.lead_present, {}}).pooled);
        return ecgbench::Loss(z.pow(2).mean(), {{"square", z.pow(2).mean().detach()}});
    }
    nn::Linear tower{nullptr};
    at::Tensor marker;
};

class TowerTask : public ecgbench::Task {
public:
    ecgbench::TaskResult evaluate(const ecgbench::EvalContext& context) override {
        auto method = std::dynamic_pointer_cast<TowerMethod>(context.pretrained_method());
        if (!method) throw std::runtime_error("tower_task: the pretrained method is not tower_method");
        ecgbench::Metric m{"tower_marker", "test", method->marker.item<double>()};
        m.direction = ecgbench::Direction::LowerIsBetter;
        return {{m}, {}};
    }
};

std::vector<ecgbench::PluginDescriptor> describe_all() {
    ecgbench::PluginDescriptor method, task;
    method.manifest = {"tower_method", ecgbench::PluginKind::Ssl, "0.0.1", "method with a tower (tests)", {}, {}, {"tower"}};
    method.make_ssl = [](const ecgbench::Params&) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<TowerMethod>(); };
    task.manifest = {"tower_task", ecgbench::PluginKind::Task, "0.0.1", "reads the tower back (tests)", {}, {"tower"}, {}};
    task.make_task = [](const ecgbench::Params&) { return std::make_unique<TowerTask>(); };
    return {method, task};
}
}  // namespace
ECGBENCH_PLUGINS(describe_all)
