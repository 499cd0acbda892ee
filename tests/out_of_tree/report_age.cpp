// report_age: an ECG-text method that also reads a covariate, in one out-of-tree file. A text tower
// (hashed bag of words -> embedding) and the ECG projection are aligned with a CLIP-style
// symmetric InfoNCE (as MERL's contrastive part), and an age head regresses the standardised age
// where it is known (NaN = missing). Needs "texts" and "covariate:age"; provides "text_tower".
#include "ecgbench/plugin.hpp"

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <cctype>
#include <functional>

namespace {
namespace nn = torch::nn;
constexpr std::int64_t kBuckets = 4096;

class ReportAge : public ecgbench::SslMethod {
public:
    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        if (!context.has_texts) throw std::invalid_argument("report_age: the pretraining split has no texts");
        ecg_projection_ = register_module("ecg_projection", nn::Linear(context.embedding_dim, 32));
        text_tower_ = register_module("text_tower", nn::EmbeddingBag(nn::EmbeddingBagOptions(kBuckets, 32).mode(torch::kMean)));
        age_head_ = register_module("age_head", nn::Linear(context.embedding_dim, 1));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        const at::Tensor h = encoder.encode({batch.signals, batch.lead_present, {}}).pooled;
        auto unit = [](const at::Tensor& x) { return x / x.norm(2, 1, true).clamp_min(1e-12); };
        const at::Tensor e = unit(ecg_projection_->forward(h));
        const at::Tensor t = unit(embed_texts(batch.texts, h.device()));
        const at::Tensor logits = e.mm(t.t()) / 0.1;
        const at::Tensor targets = at::arange(batch.size(), at::TensorOptions().dtype(at::kLong).device(h.device()));
        const at::Tensor contrastive = (at::cross_entropy_loss(logits, targets) + at::cross_entropy_loss(logits.t(), targets)) / 2;
        const at::Tensor age = batch.covariates.at("age");
        const at::Tensor known = age.isfinite();
        at::Tensor age_loss = at::zeros({}, h.options());
        if (known.any().item<bool>()) {
            const at::Tensor z = (age.masked_select(known) - 60.0) / 15.0;
            age_loss = (age_head_->forward(h).squeeze(1).masked_select(known) - z).pow(2).mean();
        }
        return {contrastive + age_loss, {{"contrastive", contrastive.detach()}, {"age", age_loss.detach()}}};
    }

private:
    /// Lower-cased words hashed into kBuckets, averaged per text.
    at::Tensor embed_texts(const std::vector<std::string>& texts, const c10::Device& device) {
        std::vector<std::int64_t> ids, offsets;
        for (const auto& text : texts) {
            offsets.push_back(static_cast<std::int64_t>(ids.size()));
            std::string word;
            for (char c : text + " ") {
                if (std::isalnum(static_cast<unsigned char>(c))) {
                    word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                } else if (!word.empty()) {
                    ids.push_back(static_cast<std::int64_t>(std::hash<std::string>{}(word) % kBuckets));
                    word.clear();
                }
            }
            if (static_cast<std::int64_t>(ids.size()) == offsets.back()) ids.push_back(0);  // empty report
        }
        auto options = at::TensorOptions().dtype(at::kLong);
        return text_tower_->forward(at::tensor(ids, options).to(device), at::tensor(offsets, options).to(device));
    }

    nn::Linear ecg_projection_{nullptr}, age_head_{nullptr};
    nn::EmbeddingBag text_tower_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"report_age", ecgbench::PluginKind::Ssl, "0.1.0", "ECG-report InfoNCE + age regression (example)", {},
                  /*needs=*/{"texts", "covariate:age"}, /*provides=*/{"text_tower"}};
    d.make_ssl = [](const ecgbench::Params&) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<ReportAge>(); };
    return d;
}
}  // namespace

ECGBENCH_PLUGIN(describe)
