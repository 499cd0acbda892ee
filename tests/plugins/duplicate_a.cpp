// One of two plugins that both call themselves "duplicate_task": the second one loaded is refused.
#include "ecgbench/plugin.hpp"

namespace {
class NoOp : public ecgbench::Task {
public:
    ecgbench::TaskResult evaluate(const ecgbench::EvalContext&) override { return {}; }
};
ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"duplicate_task", ecgbench::PluginKind::Task, "0.0.1", "copy a", {}};
    d.make_task = [](const ecgbench::Params&) { return std::make_unique<NoOp>(); };
    return d;
}
}  // namespace
ECGBENCH_PLUGIN(describe)
