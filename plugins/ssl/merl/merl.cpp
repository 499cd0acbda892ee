// merl: ECG–report pretraining after MERL (Liu et al. 2024, "Zero-Shot ECG Classification with
// Multimodal Learning and Test-time Clinical Knowledge Enhancement", ICML). Two losses, summed:
//  - cross-modal alignment (CMA): the ECG embedding, through a linear projection, and the report's
//    text embedding, through an MLP (Linear–GELU–Linear), meet in a joint space under CLIP's
//    symmetric contrastive loss (ecgbench::clip_loss, τ = 0.07 as in MERL's code);
//  - uni-modal alignment (UMA): two views of the ECG embedding, each a bias-free linear map
//    followed by dropout (p = 0.1), are pulled together by the same loss — MERL's augmentation-free
//    ECG view pair.
// The text tower is by default trained in-house: a SentencePiece tokenizer (unigram or BPE) fitted on
// the pretraining split's reports when the method is set up, and a small transformer text encoder
// (plugins/ssl/common). Alternatively the user supplies the text encoder as a TorchScript module
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
#include "common/text_encoder.hpp"
#include "common/tokenizer.hpp"

#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/sha256.hpp"
#include "ecgbench/text.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <torch/nn/functional/dropout.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;
using ecgbench::text::TextTransformer;
using ecgbench::text::Tokenizer;

at::Tensor bytes_tensor(const std::string& bytes) {
    at::Tensor t = torch::empty({static_cast<std::int64_t>(bytes.size())}, torch::kUInt8);
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(t.data_ptr<std::uint8_t>()));
    return t;
}

std::string tensor_bytes(const at::Tensor& t) {
    const at::Tensor c = t.to(torch::kCPU).contiguous();
    const auto* p = reinterpret_cast<const char*>(c.data_ptr<std::uint8_t>());
    return {p, p + c.numel()};
}

std::string read_bytes(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument("merl: cannot read " + what + " '" + path + "'");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// An nn::Module holding the TorchScript module's parameters and buffers (the same tensors) under
// the module's own hierarchy: the optimiser, device moves and the checkpoint then reach them.
std::shared_ptr<nn::Module> mirror(const torch::jit::Module& module, bool trainable) {
    auto holder = std::make_shared<nn::Module>();
    for (const auto& p : module.named_parameters(/*recurse=*/false)) holder->register_parameter(p.name, p.value, trainable);
    for (const auto& b : module.named_buffers(/*recurse=*/false)) holder->register_buffer(b.name, b.value);
    for (const auto& child : module.named_children()) holder->register_module(child.name, mirror(child.value, trainable));
    return holder;
}

class Merl : public ecgbench::SslMethod, public ecgbench::TextTower {
public:
    explicit Merl(const ecgbench::Params& p)
        : tokenizer_options_{p.get_string("tokenizer"), p.get_int("vocab_size")},
          text_options_{p.get_int("vocab_size"), p.get_int("text_width"), p.get_int("text_layers"),
                        p.get_int("text_heads"),  p.get_int("max_tokens"), p.get_float("text_dropout")},
          proj_dim_(p.get_int("proj_dim")), temperature_(p.get_float("temperature")),
          uma_dropout_(p.get_float("uma_dropout")), text_model_path_(p.get_string("text_model")),
          text_tokenizer_path_(p.get_string("text_tokenizer")), freeze_text_model_(p.get_bool("freeze_text_model")) {
        if (text_model_path_.empty() && text_options_.width % text_options_.heads != 0)
            throw std::invalid_argument("merl: text_heads must divide text_width");
        if (!text_model_path_.empty() && text_tokenizer_path_.empty())
            throw std::invalid_argument("merl: text_model '" + text_model_path_ +
                                        "' needs text_tokenizer, the SentencePiece model its ids come from");
    }

    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) throw std::invalid_argument("merl: embedding_dim must be positive");
        const std::int64_t d = context.embedding_dim;
        ecg_projection_ = register_module("ecg_projection", nn::Linear(d, proj_dim_));
        uma_view1_ = register_module("uma_view1", nn::Linear(nn::LinearOptions(d, proj_dim_).bias(false)));
        uma_view2_ = register_module("uma_view2", nn::Linear(nn::LinearOptions(d, proj_dim_).bias(false)));
        std::int64_t text_width = text_options_.width;
        if (text_model_path_.empty()) {
            text_encoder_ = register_module("text_encoder", std::make_shared<TextTransformer>(text_options_));
        } else {
            text_width = load_text_model();
        }
        text_projection_ = register_module("text_projection",
                                           nn::Sequential(nn::Linear(text_width, proj_dim_), nn::GELU(),
                                                          nn::Linear(proj_dim_, proj_dim_)));
        // A given tokenizer is read from its file; otherwise pretraining fits one on the split's
        // reports, and a rebuild for evaluation (total_steps == 0) leaves the buffers empty: the
        // checkpoint's state fills them next.
        std::string model, digest;
        if (!text_tokenizer_path_.empty()) {
            Tokenizer tokenizer = Tokenizer::from_model(read_bytes(text_tokenizer_path_, "text_tokenizer"));
            model = tokenizer.model();
            digest = tokenizer.sha256();
            tokenizer_ = std::move(tokenizer);
        } else if (context.total_steps > 0) {
            if (!context.data || context.data->texts.empty())
                throw std::invalid_argument("merl: the pretraining split carries no report texts");
            const Tokenizer tokenizer = Tokenizer::train(context.data->texts, tokenizer_options_);
            model = tokenizer.model();
            digest = tokenizer.sha256();
            tokenizer_ = tokenizer;
        }
        tokenizer_model_ = register_buffer("tokenizer_model", bytes_tensor(model));
        tokenizer_sha256_ = register_buffer("tokenizer_sha256", bytes_tensor(digest));
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
        const at::Tensor ids = ecgbench::text::token_ids(tokenizer(), batch.texts, text_options_.max_tokens);
        const at::Tensor rows = ids.select(1, 0).ne(Tokenizer::kPadId).nonzero().squeeze(1);
        at::Tensor cma = torch::zeros({}, pooled.options());
        if (rows.numel() >= 2) {
            const at::Tensor reports = ids.index_select(0, rows);
            const at::Tensor ecg = ecg_projection_->forward(pooled.index_select(0, rows.to(pooled.device())));
            cma = ecgbench::clip_loss(ecg, embed_ids(reports), temperature_);
        }
        const double paired = static_cast<double>(rows.numel()) / static_cast<double>(batch.size());
        return ecgbench::Loss(cma + uma, {{"cma", cma.detach()}, {"uma", uma.detach()},
                                          {"paired", torch::full({}, paired, pooled.options())}});
    }

    at::Tensor embed_texts(const std::vector<std::string>& texts) override { return embed_reports(texts); }

    // The TorchScript module has its own training flag (dropout in a BERT): it follows the method's.
    void train(bool on = true) override {
        SslMethod::train(on);
        if (text_model_) text_model_->train(on);
    }

    at::Tensor embed_signals(ecgbench::Encoder& encoder, const ecgbench::EncoderBatch& batch) override {
        return ecg_projection_->forward(encoder.encode(batch).pooled);
    }

    std::string text_identity() const override {
        const Tokenizer& t = tokenizer();
        const std::string tokenizer = text_tokenizer_path_.empty() ? "sentencepiece " + tokenizer_options_.model_type
                                                                   : "sentencepiece from " + text_tokenizer_path_;
        const std::string identity = tokenizer + ", " + std::to_string(t.pieces()) + " pieces, sha256 " + t.sha256();
        if (text_model_path_.empty()) return identity;
        return "TorchScript " + text_model_path_ + " (sha256 " + text_model_sha256_ + (freeze_text_model_ ? ", frozen" : "") +
               "), " + identity;
    }

private:
    // Loads `text_model` on the CPU (the method moves to its device after setup), registers its
    // weights as the method's and returns the width of its output, found by one forward pass.
    std::int64_t load_text_model() {
        try {
            text_model_ = torch::jit::load(text_model_path_, torch::kCPU);
        } catch (const c10::Error& error) {
            throw std::invalid_argument("merl: cannot load text_model '" + text_model_path_ +
                                        "' as a TorchScript module: " + error.what_without_backtrace());
        }
        text_model_sha256_ = ecgbench::sha256_file(text_model_path_);
        register_module("text_model", mirror(*text_model_, !freeze_text_model_));
        torch::NoGradGuard no_grad;
        const at::Tensor probe = torch::ones({1, 2}, torch::kInt64);
        const at::Tensor out = run_text_model(probe);
        if (out.dim() != 2 || out.size(0) != 1)
            throw std::invalid_argument("merl: text_model '" + text_model_path_ + "' returns a tensor of shape " +
                                        c10::str(out.sizes()) + " for one text; expected [1, width]");
        return out.size(1);
    }

    at::Tensor run_text_model(const at::Tensor& ids) {
        const at::Tensor mask = ids.ne(Tokenizer::kPadId);
        c10::IValue out;
        try {
            out = text_model_->forward({ids, mask});
        } catch (const c10::Error& error) {
            throw std::runtime_error("merl: text_model '" + text_model_path_ +
                                     "' failed on ids [B, T] and mask [B, T]: " + error.what_without_backtrace());
        }
        if (!out.isTensor())
            throw std::invalid_argument("merl: text_model '" + text_model_path_ + "' does not return a tensor");
        return out.toTensor().to(torch::kFloat);
    }

    // Texts (each with at least one token) -> text embeddings in the joint space [N, proj_dim].
    at::Tensor embed_reports(const std::vector<std::string>& texts) {
        const at::Tensor ids = ecgbench::text::token_ids(tokenizer(), texts, text_options_.max_tokens);
        const at::Tensor empty = ids.select(1, 0).eq(Tokenizer::kPadId).nonzero();
        if (empty.numel() > 0)
            throw std::invalid_argument("merl: text '" + texts[static_cast<std::size_t>(empty[0][0].item<std::int64_t>())] +
                                        "' yields no token");
        return embed_ids(ids);
    }

    at::Tensor embed_ids(const at::Tensor& ids) {
        const at::Tensor on_device = ids.to(ecgbench::device_of(*text_projection_));
        return text_projection_->forward(text_model_ ? run_text_model(on_device) : text_encoder_->forward(on_device));
    }

    // The tokenizer of the buffers: the one fitted at setup, or the checkpoint's after a load,
    // checked against its recorded SHA-256.
    const Tokenizer& tokenizer() const {
        const std::string digest = tensor_bytes(tokenizer_sha256_);
        if (tokenizer_ && tokenizer_->sha256() == digest) return *tokenizer_;
        if (tokenizer_model_.numel() == 0) throw std::logic_error("merl: no tokenizer (neither fitted nor loaded from a checkpoint)");
        Tokenizer loaded = Tokenizer::from_model(tensor_bytes(tokenizer_model_));
        if (loaded.sha256() != digest)
            throw std::runtime_error("merl: the checkpoint's tokenizer model has sha256 " + loaded.sha256() +
                                     ", its recorded sha256 is " + digest);
        tokenizer_ = std::move(loaded);
        return *tokenizer_;
    }

    ecgbench::text::TokenizerOptions tokenizer_options_;
    ecgbench::text::TextEncoderOptions text_options_;
    std::int64_t proj_dim_;
    double temperature_;
    double uma_dropout_;
    nn::Linear ecg_projection_{nullptr}, uma_view1_{nullptr}, uma_view2_{nullptr};
    std::string text_model_path_, text_tokenizer_path_;
    bool freeze_text_model_;
    std::shared_ptr<TextTransformer> text_encoder_;     // the in-house tower, or
    std::optional<torch::jit::Module> text_model_;      // the user's TorchScript one
    std::string text_model_sha256_;
    nn::Sequential text_projection_{nullptr};
    at::Tensor tokenizer_model_, tokenizer_sha256_;
    mutable std::optional<Tokenizer> tokenizer_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"merl",
                  ecgbench::PluginKind::Ssl,
                  "1.1.0",
                  "MERL (Liu et al. 2024): CLIP loss between ECGs and their reports + dropout-view alignment; "
                  "in-house SentencePiece tokenizer and transformer text tower, or a user-supplied TorchScript one",
                  {param::choice("tokenizer", "unigram", {"unigram", "bpe"}, "SentencePiece model type fitted on the pretraining reports"),
                   param::integer("vocab_size", 2000, "largest vocabulary (a small corpus yields fewer pieces)").between(16, 64000),
                   param::integer("max_tokens", 64, "tokens per report kept (longer reports are cut)").between(4, 1024),
                   param::integer("text_width", 128, "width of the transformer text encoder").between(8, 2048),
                   param::integer("text_layers", 2, "transformer layers of the text encoder").between(1, 24),
                   param::integer("text_heads", 4, "attention heads (must divide text_width)").between(1, 64),
                   param::real("text_dropout", 0.1, "dropout inside the text encoder").between(0, 0.9),
                   param::integer("proj_dim", 256, "width of the joint ECG–text space (MERL: 256)").between(1, 8192),
                   param::real("temperature", 0.07, "CLIP loss temperature τ (MERL: 0.07)").between(1e-3, 10),
                   param::real("uma_dropout", 0.1, "dropout of the two uni-modal views (MERL: 0.1)").between(0, 0.9),
                   param::file("text_model", "TorchScript text encoder, forward(ids int64 [B,T], mask bool [B,T]) -> float [B,D], "
                                             "used instead of the in-house one (text_width/layers/heads/dropout then unused)"),
                   param::file("text_tokenizer", "SentencePiece .model file used instead of fitting one (required with text_model)"),
                   param::flag("freeze_text_model", false, "keep text_model's weights as loaded (default: trained with the ECG side)")},
                  /*needs=*/{"texts"},
                  /*provides=*/{"text_tower"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Merl>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
