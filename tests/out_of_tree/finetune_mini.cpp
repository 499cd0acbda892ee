// finetune_mini: a fine-tuning protocol in one out-of-tree file. The task's own encoder copy and a
// linear head are trained end to end on the (label-fraction) train split with multi-label BCE
// through the shared training engine (ecgbench::train: AdamW, warm-up + cosine, clipping), then
// the test split is scored: macro AUROC and per-record logits.
#include "ecgbench/metrics.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/train.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

namespace {
namespace nn = torch::nn;

class FineTune : public ecgbench::Task {
public:
    explicit FineTune(const ecgbench::Params& p) : epochs_(p.get_int("epochs")), lr_(p.get_float("learning_rate")) {}

    ecgbench::TaskResult evaluate(const ecgbench::EvalContext& ctx) override {
        auto encoder = ctx.encoder;
        const auto classes = static_cast<std::int64_t>(ctx.dataset.classes.size());
        nn::Linear head(encoder->embedding_dim(), classes);
        head->to(ctx.device);
        ecgbench::TrainOptions options;
        options.epochs = epochs_;
        options.batch_size = 32;
        options.learning_rate = lr_;
        options.grad_clip_norm = 1.0;
        options.device = ctx.device.str();
        ecgbench::train({encoder.get(), head.get()}, ctx.train, [&](const ecgbench::Batch& b) {
            const at::Tensor logits = head->forward(encoder->encode({b.signals, b.lead_present, {}}).pooled);
            return ecgbench::Loss(at::binary_cross_entropy_with_logits(logits, b.labels));
        }, options);

        torch::NoGradGuard no_grad;
        encoder->eval();
        const at::Tensor embeddings = ecgbench::embed(*encoder, ctx.test.signals, 256, ctx.test.lead_present);
        const at::Tensor logits = head->forward(embeddings.to(ctx.device)).to(at::kCPU);
        const at::Tensor scores = logits.to(at::kDouble).contiguous();
        const at::Tensor labels = (ctx.test.labels > 0.5).to(at::kInt).contiguous();
        const auto per_class = ecgbench::per_class_auroc({scores.data_ptr<double>(), scores.data_ptr<double>() + scores.numel()},
                                                         {labels.data_ptr<int>(), labels.data_ptr<int>() + labels.numel()}, classes);
        return {{{"macro_auroc", "test", ecgbench::nanmean(per_class)}},
                {{"test", "logits", ctx.dataset.classes, ctx.test.record_ids, logits.to(at::kFloat)}}};
    }

private:
    std::int64_t epochs_;
    double lr_;
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"finetune_mini", ecgbench::PluginKind::Task, "0.1.0", "end-to-end fine-tuning with a linear head (example)",
                  {ecgbench::param::integer("epochs", 2, "fine-tuning epochs").at_least(1),
                   ecgbench::param::real("learning_rate", 1e-3, "peak learning rate").between(1e-6, 1)},
                  /*needs=*/{"labels"}};
    d.make_task = [](const ecgbench::Params& p) { return std::make_unique<FineTune>(p); };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
