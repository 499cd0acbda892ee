// tolerant: noise- and missing-lead-tolerant pretraining after TolerantECG (Nguyen et al. 2025,
// "TolerantECG: a foundation model for imperfect electrocardiogram"). Each record is seen clean and
// corrupted: recording noise at an SNR drawn uniformly from [snr_min_db, snr_max_db], then a random
// subset of its leads dropped (zeroed and marked absent in lead_present, so a lead-masking encoder
// sees them as absent). Two objectives:
//  - contrastive: NT-Xent (ecgbench::nt_xent_loss) between the projections of the clean and the
//    corrupted record (projection head D→D→proj_dim), so the embedding ignores noise and missing
//    leads;
//  - reconstruction: a light decoder from the corrupted record's tokens (Conv1d k3 D→decoder_dim –
//    ReLU – Conv1d 1×1 → leads × samples-per-token, unfolded along time) regresses the clean signal
//    of every lead the record has (dropped ones included), MSE weighted by reconstruction_weight.
//
// Noise is the synthetic cohort's model on tensors (ecgbench::add_recording_noise: baseline wander,
// muscle artefact, electrode motion, powerline at powerline_hz, mixed 0.35/0.35/0.15/0.15 and
// scaled per record to the drawn SNR over its present leads); leads are dropped by
// ecgbench::drop_leads (each present lead with a per-record probability ~ U(0, max_lead_drop), at
// least one kept). The reconstruction MSE is ecgbench::masked_mse_loss over the clean record's
// present leads.
//
// What it simplifies relative to TolerantECG: no report-text contrastive branch (that needs texts
// and a text tower), noise is independent per lead (the cohort forms it from electrodes), and the
// decoder is a per-token unfolding head rather than a transformer decoder.
#include "ecgbench/corruption.hpp"
#include "ecgbench/heads.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;

/// Tokens [B, N, D] -> signals [B, leads, N · span] cut to `samples`: each token emits its span.
class Decoder : public nn::Module {
public:
    Decoder(std::int64_t width, std::int64_t hidden, std::int64_t leads, std::int64_t span, std::int64_t samples)
        : conv_(register_module("conv", nn::Conv1d(nn::Conv1dOptions(width, hidden, 3).padding(1)))),
          out_(register_module("out", nn::Conv1d(nn::Conv1dOptions(hidden, leads * span, 1)))), leads_(leads), span_(span),
          samples_(samples) {}

    at::Tensor forward(const at::Tensor& tokens) {
        const std::int64_t b = tokens.size(0), n = tokens.size(1);
        const at::Tensor y = out_->forward(conv_->forward(tokens.transpose(1, 2)).relu());  // [B, L·span, N]
        return y.view({b, leads_, span_, n}).permute({0, 1, 3, 2}).reshape({b, leads_, n * span_}).narrow(2, 0, samples_);
    }

private:
    nn::Conv1d conv_;
    nn::Conv1d out_;
    std::int64_t leads_, span_, samples_;
};

class Tolerant : public ecgbench::SslMethod {
public:
    explicit Tolerant(const ecgbench::Params& p)
        : proj_dim_(p.get_int("proj_dim")), temperature_(p.get_float("temperature")), snr_min_(p.get_float("snr_min_db")),
          snr_max_(p.get_float("snr_max_db")), max_drop_(p.get_float("max_lead_drop")),
          weight_(p.get_float("reconstruction_weight")), decoder_dim_(p.get_int("decoder_dim")) {
        noise_.powerline_hz = p.get_float("powerline_hz");
        if (snr_min_ > snr_max_)
            throw std::invalid_argument("tolerant: param 'snr_min_db' (" + std::to_string(snr_min_) + ") exceeds 'snr_max_db' (" +
                                        std::to_string(snr_max_) + ")");
    }

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) throw std::invalid_argument("tolerant: embedding_dim must be positive");
        if (!(context.input.sampling_rate_hz > 0)) throw std::invalid_argument("tolerant: the input's sampling rate must be positive");
        fs_ = context.input.sampling_rate_hz;
        samples_ = context.input.samples;
        head_ = register_module("head", std::make_shared<ecgbench::ProjectionHead>(context.embedding_dim, proj_dim_));
        const auto [count, width] = token_shape(encoder, context.input);
        const std::int64_t span = (samples_ + count - 1) / count;
        decoder_ = register_module("decoder", std::make_shared<Decoder>(width, decoder_dim_, context.input.leads, span, samples_));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!head_) throw std::logic_error("tolerant: loss() called before setup()");
        const at::Tensor& x = batch.signals;
        const std::int64_t b = x.size(0);
        const at::Tensor present = batch.lead_present.defined() ? batch.lead_present.to(at::kBool)
                                                                : at::ones({b, x.size(1)}, x.options().dtype(at::kBool));
        const at::Tensor clean = x * present.unsqueeze(-1).to(x.scalar_type());
        const at::Tensor snr_db = at::rand({b}, x.options()) * (snr_max_ - snr_min_) + snr_min_;
        const at::Tensor kept = ecgbench::drop_leads(present, max_drop_);
        const at::Tensor corrupted =
            ecgbench::add_recording_noise(clean, present, snr_db, fs_, noise_) * kept.unsqueeze(-1).to(x.scalar_type());

        const auto out = encoder.encode({at::cat({clean, corrupted}, 0), at::cat({present, kept}, 0), {}});
        if (!out.tokens.defined()) throw std::runtime_error("tolerant: the encoder returned no tokens");
        const at::Tensor z = head_->forward(out.pooled);
        const at::Tensor contrastive = ecgbench::nt_xent_loss(z.narrow(0, 0, b), z.narrow(0, b, b), temperature_);

        // Every lead the record has, dropped ones included, counts towards the reconstruction.
        const at::Tensor mse = ecgbench::masked_mse_loss(decoder_->forward(out.tokens.narrow(0, b, b)), clean, present);
        return {contrastive + weight_ * mse, {{"contrastive", contrastive}, {"reconstruction", mse}}};
    }

private:
    // Tokens per record and their width: one tiny forward in eval mode (running statistics untouched).
    static std::pair<std::int64_t, std::int64_t> token_shape(ecgbench::Encoder& encoder, const ecgbench::EncoderInput& input) {
        torch::NoGradGuard no_grad;
        const bool training = encoder.is_training();
        encoder.eval();
        const at::Tensor x = at::zeros({1, input.leads, input.samples}, at::TensorOptions().device(ecgbench::device_of(encoder)));
        const at::Tensor tokens = encoder.encode({x, {}, {}}).tokens;
        encoder.train(training);
        if (!tokens.defined() || tokens.dim() != 3 || tokens.size(1) < 1)
            throw std::invalid_argument("tolerant: the encoder returns no tokens [B, T', D]; the reconstruction head decodes them");
        return {tokens.size(1), tokens.size(2)};
    }

    std::int64_t proj_dim_;
    double temperature_, snr_min_, snr_max_, max_drop_, weight_;
    std::int64_t decoder_dim_;
    ecgbench::RecordingNoise noise_;  // the cohort's default mix
    double fs_ = 0;
    std::int64_t samples_ = 0;
    std::shared_ptr<ecgbench::ProjectionHead> head_;
    std::shared_ptr<Decoder> decoder_;
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {"tolerant",
                  ecgbench::PluginKind::Ssl,
                  "1.0.0",
                  "TolerantECG-style (Nguyen et al. 2025): NT-Xent between a clean record and a noisy, lead-dropped copy, "
                  "plus MSE reconstruction of the clean record from the copy's tokens",
                  {param::integer("proj_dim", 128, "output width of the projection head").at_least(1),
                   param::real("temperature", 0.1, "NT-Xent temperature τ").between(1e-3, 10),
                   param::real("snr_min_db", 0.0, "lowest SNR of the corrupted copy, dB").between(-20, 60),
                   param::real("snr_max_db", 20.0, "highest SNR of the corrupted copy, dB (SNR ~ U(min, max) per record)").between(-20, 60),
                   param::real("powerline_hz", 50.0, "mains frequency of the powerline noise (skipped at or above Nyquist)").between(1, 1000),
                   param::real("max_lead_drop", 0.75, "per-record lead-drop probability ~ U(0, max); one present lead always stays").between(0, 1),
                   param::real("reconstruction_weight", 1.0, "weight of the reconstruction MSE (0 = contrastive only)").between(0, 1000),
                   param::integer("decoder_dim", 128, "hidden width of the reconstruction decoder").between(1, 8192)},
                  /*needs=*/{"tokens"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Tolerant>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
