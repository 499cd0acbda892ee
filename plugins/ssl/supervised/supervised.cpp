// supervised: the upper-bound baseline. "Pretrains" the encoder with a linear head D→C and
// binary cross-entropy on the multi-hot labels of the pretraining data (multi-label, so one sigmoid
// per class rather than a softmax). It reads labels, so uses_labels() is true and results record
// that this is not self-supervised. The signals are used as given, without augmentation, so the
// baseline measures what the labels alone buy.
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/linear.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;

class Supervised : public ecgbench::SslMethod {
public:
    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        if (context.classes.empty())
            throw std::invalid_argument("supervised: the pretraining dataset has no classes; this baseline needs labels");
        classes_ = static_cast<std::int64_t>(context.classes.size());
        head_ = register_module("head", nn::Linear(context.embedding_dim, classes_));
    }

    bool uses_labels() const override { return true; }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!head_) throw std::logic_error("supervised: loss() called before setup()");
        if (!batch.labels.defined() || batch.labels.dim() != 2 || batch.labels.size(1) != classes_)
            throw std::invalid_argument("supervised: batch labels must be [B, " + std::to_string(classes_) + "]");
        const at::Tensor logits = head_->forward(encoder.encode({batch.signals, batch.lead_present, {}}).pooled);
        // Mean over records and classes (the usual multi-label BCE reduction).
        return at::binary_cross_entropy_with_logits(logits, batch.labels.to(logits.scalar_type()));
    }

private:
    std::int64_t classes_ = 0;
    nn::Linear head_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"supervised", ecgbench::PluginKind::Ssl, "1.0.0",
                  "upper bound: linear head + BCE-with-logits on the multi-hot labels (not self-supervised)",
                  {},
                  /*needs=*/{"labels"}};
    d.make_ssl = [](const ecgbench::Params&) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Supervised>(); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
