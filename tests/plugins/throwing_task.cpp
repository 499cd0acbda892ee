// A task whose evaluation throws, or reports NaN, depending on its `mode` param: the runner must
// record the cell as failed with this message and go on with the other cells.
#include "ecgbench/plugin.hpp"

#include <limits>
#include <stdexcept>

namespace {
class ThrowingTask : public ecgbench::Task {
public:
    explicit ThrowingTask(std::string mode) : mode_(std::move(mode)) {}
    ecgbench::TaskResult evaluate(const ecgbench::EvalContext&) override {
        if (mode_ == "nan") return {{{"macro_auroc", "test", std::numeric_limits<double>::quiet_NaN()}}, {}};
        throw std::runtime_error("throwing_task: deliberate failure for testing");
    }

private:
    std::string mode_;
};
ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"throwing_task", ecgbench::PluginKind::Task, "0.0.1", "fails on purpose (tests)",
                  {{"mode", ecgbench::ParamType::String, std::string("throw"), "throw | nan", {}, {}, {"throw", "nan"}}}};
    d.make_task = [](const ecgbench::Params& p) { return std::make_unique<ThrowingTask>(p.get_string("mode")); };
    return d;
}
}  // namespace
ECGBENCH_PLUGIN(describe)
