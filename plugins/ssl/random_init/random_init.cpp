// random_init: the lower bound. Leaves the encoder exactly as its plugin initialised it (for the
// cell's seed): trains() is false, so the host runs no loop and evaluates the untrained encoder.
// Downstream tasks then measure what the architecture and the task's own training achieve alone.
#include "ecgbench/plugin.hpp"

#include <memory>
#include <stdexcept>
#include <vector>

namespace {

class RandomInit : public ecgbench::SslMethod {
public:
    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext&) override {}
    bool trains() const override { return false; }
    ecgbench::Loss loss(ecgbench::Encoder&, const ecgbench::Batch&) override {
        throw std::logic_error("random_init: loss() must not be called (trains() is false)");
    }
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"random_init", ecgbench::PluginKind::Ssl, "1.0.0",
                  "lower bound: no pretraining, the encoder keeps its random initialisation", {}};
    d.make_ssl = [](const ecgbench::Params&) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<RandomInit>(); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
