// The plugin guide's (docs/plugins.md) task example, verbatim, built and run by the tests (README_examples).
// plugins/tasks/nearest_centroid/nearest_centroid.cpp: a frozen-encoder protocol in brief — class
// centroids of the train embeddings, cosine scores on test, macro AUROC and per-record scores.
#include "ecgbench/metrics.hpp"
#include "ecgbench/plugin.hpp"

#include <ATen/ATen.h>

namespace {

class NearestCentroid : public ecgbench::Task {
public:
    ecgbench::TaskResult evaluate(const ecgbench::EvalContext& ctx) override {
        auto& encoder = *ctx.encoder;  // the task's own copy, on ctx.device
        auto unit = [](const at::Tensor& x) { return x / x.norm(2, 1, true).clamp_min(1e-12); };
        const at::Tensor train = unit(ecgbench::embed(encoder, ctx.train.signals, 256, ctx.train.lead_present));
        const at::Tensor test = unit(ecgbench::embed(encoder, ctx.test.signals, 256, ctx.test.lead_present));
        // Centroid of each class's positives minus that of its negatives: one direction per class.
        const at::Tensor y = ctx.train.labels;
        const at::Tensor pos = y.t().mm(train) / y.sum(0).clamp_min(1).unsqueeze(1);
        const at::Tensor neg = (1 - y).t().mm(train) / (1 - y).sum(0).clamp_min(1).unsqueeze(1);
        const at::Tensor scores = test.mm((pos - neg).t()).to(at::kDouble).contiguous();  // [N, C]
        const at::Tensor labels = (ctx.test.labels > 0.5).to(at::kInt).contiguous();
        const auto classes = static_cast<std::int64_t>(ctx.dataset.classes.size());
        const auto per_class = ecgbench::per_class_auroc({scores.data_ptr<double>(), scores.data_ptr<double>() + scores.numel()},
                                                         {labels.data_ptr<int>(), labels.data_ptr<int>() + labels.numel()}, classes);
        ecgbench::TaskResult result;
        result.metrics.push_back({"macro_auroc", "test", ecgbench::nanmean(per_class)});
        result.outputs.push_back({"test", "scores", ctx.dataset.classes, ctx.test.record_ids, scores.to(at::kFloat)});
        return result;
    }
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"nearest_centroid", ecgbench::PluginKind::Task, "1.0.0", "class-centroid cosine scores (example)", {},
                  /*needs=*/{"labels"}};
    d.make_task = [](const ecgbench::Params&) { return std::make_unique<NearestCentroid>(); };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
