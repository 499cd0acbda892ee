// merl: ECG–report pretraining after MERL (Liu et al. 2024, "Zero-Shot ECG Classification with
// Multimodal Learning and Test-time Clinical Knowledge Enhancement", ICML). Two losses, summed:
//  - cross-modal alignment (CMA): the ECG embedding, through a linear projection, and the report's
//    text embedding, through an MLP (Linear–GELU–Linear), meet in a joint space under CLIP's
//    symmetric contrastive loss (ecgbench::clip_loss, τ = 0.07 as in MERL's code);
//  - uni-modal alignment (UMA): two views of the ECG embedding, each a bias-free linear map
//    followed by dropout (p = 0.1), are pulled together by the same loss — MERL's augmentation-free
//    ECG view pair.
// The text tower (plugins/ssl/common/report_tower.hpp, shared with melp) is by default trained
// in-house: a SentencePiece tokenizer (unigram or BPE) fitted on the pretraining split's reports when
// the method is set up, and a small transformer text encoder. Alternatively the user supplies the text encoder as a TorchScript module
// (`text_model`, e.g. a clinical BERT exported from Python, whose forward(ids: int64 [B, T],
// mask: bool [B, T]) returns float [B, D]) and the SentencePiece model it was trained with
// (`text_tokenizer`; it can also be given alone, in place of the fitted one). Both are File params:
// their bytes' SHA-256 is part of the cell identity. The module's parameters and buffers are
// registered as the method's own (under "text_model"), so they are trained with the ECG side
// (unless `freeze_text_model`), move with it between devices and travel in the checkpoint; a
// rebuild for evaluation loads the module from its path again, then the checkpoint's weights.
// The tokenizer's serialised model and its SHA-256 are buffers of the method, so they travel in the
// checkpoint; rebuilding the method for an evaluation restores that exact tokenizer (and refuses one
// whose bytes do not match their recorded hash). The method provides "text_tower"
// (ecgbench/text.hpp) for the zero_shot task.
//
// Records without a report (an empty text) take part in UMA but not in CMA: the contrastive loss
// is over the batch's records that have a report, and a batch with fewer than two of them has a CMA
// term of 0 (the share of paired records is stored as the loss term `paired`).
//
// What it simplifies relative to the paper:
//  - MERL's text encoder is a pretrained clinical language model (Med-CPT); here it is trained from
//    scratch on the pretraining reports unless the user supplies one as TorchScript (`text_model`;
//    it must take SentencePiece ids, as Med-CPT's WordPiece tokenizer is not reproduced).
//  - MERL attention-pools the ResNet's last feature map for CMA and average-pools a 1×1-convolved
//    copy for UMA; here both branches start from the encoder's pooled embedding, so any encoder
//    plugin works.
//  - Test-time clinical knowledge enhancement (LLM-generated class descriptions, retrieved from a
//    knowledge base) is not reproduced: the zero_shot task averages the prompts it is given.
#include "common/report_tower.hpp"

#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/text.hpp"

#include <torch/nn/functional/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;
using ecgbench::text::Tokenizer;

class Merl : public ecgbench::SslMethod, public ecgbench::TextTower {
public:
    explicit Merl(const ecgbench::Params& p)
        : tower_(p, "merl"), proj_dim_(p.get_int("proj_dim")), temperature_(p.get_float("temperature")),
          uma_dropout_(p.get_float("uma_dropout")) {}

    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) throw std::invalid_argument("merl: embedding_dim must be positive");
        const std::int64_t d = context.embedding_dim;
        ecg_projection_ = register_module("ecg_projection", nn::Linear(d, proj_dim_));
        uma_view1_ = register_module("uma_view1", nn::Linear(nn::LinearOptions(d, proj_dim_).bias(false)));
        uma_view2_ = register_module("uma_view2", nn::Linear(nn::LinearOptions(d, proj_dim_).bias(false)));
        tower_.setup(*this, context);
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!ecg_projection_) throw std::logic_error("merl: loss() called before setup()");
        if (batch.texts.size() != static_cast<std::size_t>(batch.size()))
            throw std::invalid_argument("merl: the batch carries no report texts (the dataset has none)");
        const at::Tensor pooled = encoder.encode({batch.signals, batch.lead_present, {}}).pooled;

        namespace F = torch::nn::functional;
        const auto dropout = F::DropoutFuncOptions().p(uma_dropout_).training(is_training());
        const at::Tensor uma = ecgbench::clip_loss(F::dropout(uma_view1_->forward(pooled), dropout),
                                                   F::dropout(uma_view2_->forward(pooled), dropout), temperature_);

        // Reports that yield no token (empty or blank) leave their record out of CMA only.
        const at::Tensor ids = tower_.token_ids(batch.texts);
        const at::Tensor rows = ids.select(1, 0).ne(Tokenizer::kPadId).nonzero().squeeze(1);
        at::Tensor cma = torch::zeros({}, pooled.options());
        if (rows.numel() >= 2) {
            const at::Tensor reports = ids.index_select(0, rows);
            const at::Tensor ecg = ecg_projection_->forward(pooled.index_select(0, rows.to(pooled.device())));
            cma = ecgbench::clip_loss(ecg, tower_.embed_ids(reports), temperature_);
        }
        const double paired = static_cast<double>(rows.numel()) / static_cast<double>(batch.size());
        return ecgbench::Loss(cma + uma, {{"cma", cma.detach()}, {"uma", uma.detach()},
                                          {"paired", torch::full({}, paired, pooled.options())}});
    }

    at::Tensor embed_texts(const std::vector<std::string>& texts) override { return tower_.embed_texts(texts); }

    void train(bool on = true) override {
        SslMethod::train(on);
        tower_.train(on);
    }

    at::Tensor embed_signals(ecgbench::Encoder& encoder, const ecgbench::EncoderBatch& batch) override {
        return ecg_projection_->forward(encoder.encode(batch).pooled);
    }

    std::string text_identity() const override { return tower_.identity(); }

private:
    ecgbench::text::ReportTower tower_;
    std::int64_t proj_dim_;
    double temperature_;
    double uma_dropout_;
    nn::Linear ecg_projection_{nullptr}, uma_view1_{nullptr}, uma_view2_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    std::vector<ecgbench::ParamSpec> params = ecgbench::text::text_tower_params("width of the joint ECG–text space (MERL: 256)");
    const auto after_proj_dim =
        std::find_if(params.begin(), params.end(), [](const ecgbench::ParamSpec& s) { return s.name == "proj_dim"; }) + 1;
    params.insert(after_proj_dim, {param::real("temperature", 0.07, "CLIP loss temperature τ (MERL: 0.07)").between(1e-3, 10),
                                   param::real("uma_dropout", 0.1, "dropout of the two uni-modal views (MERL: 0.1)").between(0, 0.9)});
    ecgbench::PluginDescriptor d;
    d.manifest = {"merl",
                  ecgbench::PluginKind::Ssl,
                  "1.1.0",
                  "MERL (Liu et al. 2024): CLIP loss between ECGs and their reports + dropout-view alignment; "
                  "in-house SentencePiece tokenizer and transformer text tower, or a user-supplied TorchScript one",
                  std::move(params),
                  /*needs=*/{"texts"},
                  /*provides=*/{"text_tower"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Merl>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
