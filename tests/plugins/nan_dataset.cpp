// A dataset whose training split holds one NaN sample: the runner must fail the cells that use it
// with an error naming the dataset, split and record, and run everything else.
#include "ecgbench/plugin.hpp"

#include <torch/torch.h>

#include <limits>

namespace {
class NanDataset : public ecgbench::Dataset {
public:
    ecgbench::DatasetInfo info() const override {
        return {"nan_dataset", "1", "nan-fingerprint", 100.0, 250, {"I", "II"}, {"A"}, "none", "fixed", {}, false, {}};
    }
    ecgbench::EcgSplit load(ecgbench::Split split, const std::vector<std::string>& leads) override {
        const std::int64_t n = 40;
        ecgbench::EcgSplit out;
        out.signals = torch::randn({n, static_cast<std::int64_t>(leads.size()), 250});
        if (split == ecgbench::Split::Train) out.signals[3][0][17] = std::numeric_limits<float>::quiet_NaN();
        out.lead_present = torch::ones({n, static_cast<std::int64_t>(leads.size())}, torch::kBool);
        out.labels = (torch::rand({n, 1}) > 0.5).to(torch::kFloat);
        out.subjects = torch::arange(n);
        for (std::int64_t i = 0; i < n; ++i) out.record_ids.push_back("r" + std::to_string(i));
        return out;
    }
};
ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"nan_dataset", ecgbench::PluginKind::Dataset, "0.0.1", "one NaN sample in train (tests)", {}};
    d.make_dataset = [](const ecgbench::Params&) { return std::make_unique<NanDataset>(); };
    return d;
}
}  // namespace
ECGBENCH_PLUGIN(describe)
