#include "common/report_tower.hpp"

#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/sha256.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace ecgbench::text {

namespace nn = torch::nn;

namespace {

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

std::string read_bytes(const std::string& path, const std::string& what, const std::string& method) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument(method + ": cannot read " + what + " '" + path + "'");
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

}  // namespace

std::vector<ParamSpec> text_tower_params(const std::string& proj_dim_doc) {
    return {param::choice("tokenizer", "unigram", {"unigram", "bpe"}, "SentencePiece model type fitted on the pretraining reports"),
            param::integer("vocab_size", 2000, "largest vocabulary (a small corpus yields fewer pieces)").between(16, 64000),
            param::integer("max_tokens", 64, "tokens per report kept (longer reports are cut)").between(4, 1024),
            param::integer("text_width", 128, "width of the transformer text encoder").between(8, 2048),
            param::integer("text_layers", 2, "transformer layers of the text encoder").between(1, 24),
            param::integer("text_heads", 4, "attention heads (must divide text_width)").between(1, 64),
            param::real("text_dropout", 0.1, "dropout inside the text encoder").between(0, 0.9),
            param::integer("proj_dim", 256, proj_dim_doc).between(1, 8192),
            param::file("text_model", "TorchScript text encoder, forward(ids int64 [B,T], mask bool [B,T]) -> float [B,D], "
                                      "used instead of the in-house one (text_width/layers/heads/dropout then unused)"),
            param::file("text_tokenizer", "SentencePiece .model file used instead of fitting one (required with text_model)"),
            param::flag("freeze_text_model", false, "keep text_model's weights as loaded (default: trained with the ECG side)")};
}

ReportTower::ReportTower(const Params& p, std::string method)
    : method_(std::move(method)),
      tokenizer_options_{p.get_string("tokenizer"), p.get_int("vocab_size")},
      text_options_{p.get_int("vocab_size"), p.get_int("text_width"), p.get_int("text_layers"),
                    p.get_int("text_heads"),  p.get_int("max_tokens"), p.get_float("text_dropout")},
      proj_dim_(p.get_int("proj_dim")),
      text_model_path_(p.get_string("text_model")),
      text_tokenizer_path_(p.get_string("text_tokenizer")),
      freeze_text_model_(p.get_bool("freeze_text_model")) {
    if (text_model_path_.empty() && text_options_.width % text_options_.heads != 0)
        throw std::invalid_argument(method_ + ": text_heads must divide text_width");
    if (!text_model_path_.empty() && text_tokenizer_path_.empty())
        throw std::invalid_argument(method_ + ": text_model '" + text_model_path_ +
                                    "' needs text_tokenizer, the SentencePiece model its ids come from");
}

ReportTower::~ReportTower() = default;

void ReportTower::setup(nn::Module& owner, const PretrainContext& context) {
    if (text_model_path_.empty()) {
        text_encoder_ = owner.register_module("text_encoder", std::make_shared<TextTransformer>(text_options_));
        width_ = text_options_.width;
    } else {
        width_ = load_text_model(owner);
    }
    text_projection_ = owner.register_module(
        "text_projection", nn::Sequential(nn::Linear(width_, proj_dim_), nn::GELU(), nn::Linear(proj_dim_, proj_dim_)));
    // A given tokenizer is read from its file; otherwise pretraining fits one on the split's
    // reports, and a rebuild for evaluation (total_steps == 0) leaves the buffers empty: the
    // checkpoint's state fills them next.
    std::string model, digest;
    if (!text_tokenizer_path_.empty()) {
        Tokenizer tokenizer = Tokenizer::from_model(read_bytes(text_tokenizer_path_, "text_tokenizer", method_));
        model = tokenizer.model();
        digest = tokenizer.sha256();
        tokenizer_ = std::move(tokenizer);
    } else if (context.total_steps > 0) {
        if (!context.data || context.data->texts.empty())
            throw std::invalid_argument(method_ + ": the pretraining split carries no report texts");
        const Tokenizer tokenizer = Tokenizer::train(context.data->texts, tokenizer_options_);
        model = tokenizer.model();
        digest = tokenizer.sha256();
        tokenizer_ = tokenizer;
    }
    tokenizer_model_ = owner.register_buffer("tokenizer_model", bytes_tensor(model));
    tokenizer_sha256_ = owner.register_buffer("tokenizer_sha256", bytes_tensor(digest));
}

at::Tensor ReportTower::token_ids(const std::vector<std::string>& texts) const {
    return text::token_ids(tokenizer(), texts, text_options_.max_tokens);
}

ReportTower::Encoding ReportTower::encode(const at::Tensor& ids) {
    if (!text_projection_) throw std::logic_error(method_ + ": the text tower is used before setup()");
    const at::Tensor on_device = ids.to(device_of(*text_projection_));
    if (text_model_) return {text_projection_->forward(run_text_model(on_device)), {}};
    const at::Tensor states = text_encoder_->tokens(on_device);
    return {text_projection_->forward(mean_over_tokens(states, on_device)), states};
}

at::Tensor ReportTower::embed_texts(const std::vector<std::string>& texts) {
    const at::Tensor ids = token_ids(texts);
    const at::Tensor empty = ids.select(1, 0).eq(Tokenizer::kPadId).nonzero();
    if (empty.numel() > 0)
        throw std::invalid_argument(method_ + ": text '" + texts[static_cast<std::size_t>(empty[0][0].item<std::int64_t>())] +
                                    "' yields no token");
    return embed_ids(ids);
}

void ReportTower::train(bool on) {
    if (text_model_) text_model_->train(on);
}

std::string ReportTower::identity() const {
    const Tokenizer& t = tokenizer();
    const std::string tokenizer = text_tokenizer_path_.empty() ? "sentencepiece " + tokenizer_options_.model_type
                                                               : "sentencepiece from " + text_tokenizer_path_;
    const std::string identity = tokenizer + ", " + std::to_string(t.pieces()) + " pieces, sha256 " + t.sha256();
    if (text_model_path_.empty()) return identity;
    return "TorchScript " + text_model_path_ + " (sha256 " + text_model_sha256_ + (freeze_text_model_ ? ", frozen" : "") + "), " +
           identity;
}

// Loads `text_model` on the CPU (the method moves to its device after setup), registers its
// weights as the owner's and returns the width of its output, found by one forward pass.
std::int64_t ReportTower::load_text_model(nn::Module& owner) {
    try {
        text_model_ = std::make_shared<torch::jit::Module>(torch::jit::load(text_model_path_, torch::kCPU));
    } catch (const c10::Error& error) {
        throw std::invalid_argument(method_ + ": cannot load text_model '" + text_model_path_ +
                                    "' as a TorchScript module: " + error.what_without_backtrace());
    }
    text_model_sha256_ = sha256_file(text_model_path_);
    owner.register_module("text_model", mirror(*text_model_, !freeze_text_model_));
    torch::NoGradGuard no_grad;
    const at::Tensor probe = torch::ones({1, 2}, torch::kInt64);
    const at::Tensor out = run_text_model(probe);
    if (out.dim() != 2 || out.size(0) != 1)
        throw std::invalid_argument(method_ + ": text_model '" + text_model_path_ + "' returns a tensor of shape " +
                                    c10::str(out.sizes()) + " for one text; expected [1, width]");
    return out.size(1);
}

at::Tensor ReportTower::run_text_model(const at::Tensor& ids) {
    const at::Tensor mask = ids.ne(Tokenizer::kPadId);
    c10::IValue out;
    try {
        out = text_model_->forward({ids, mask});
    } catch (const c10::Error& error) {
        throw std::runtime_error(method_ + ": text_model '" + text_model_path_ +
                                 "' failed on ids [B, T] and mask [B, T]: " + error.what_without_backtrace());
    }
    if (!out.isTensor()) throw std::invalid_argument(method_ + ": text_model '" + text_model_path_ + "' does not return a tensor");
    return out.toTensor().to(torch::kFloat);
}

// The tokenizer of the buffers: the one fitted at setup, or the checkpoint's after a load, checked
// against its recorded SHA-256.
const Tokenizer& ReportTower::tokenizer() const {
    const std::string digest = tensor_bytes(tokenizer_sha256_);
    if (tokenizer_ && tokenizer_->sha256() == digest) return *tokenizer_;
    if (tokenizer_model_.numel() == 0) throw std::logic_error(method_ + ": no tokenizer (neither fitted nor loaded from a checkpoint)");
    Tokenizer loaded = Tokenizer::from_model(tensor_bytes(tokenizer_model_));
    if (loaded.sha256() != digest)
        throw std::runtime_error(method_ + ": the checkpoint's tokenizer model has sha256 " + loaded.sha256() +
                                 ", its recorded sha256 is " + digest);
    tokenizer_ = std::move(loaded);
    return *tokenizer_;
}

}  // namespace ecgbench::text
