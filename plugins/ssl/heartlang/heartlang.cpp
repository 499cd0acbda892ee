// heartlang: masked heartbeat-sentence modelling after HeartLang (Jin, Wang, Li, Li, Pan & Hong,
// "Reading Your Heart: Learning ECG Words and Sentences via Pre-training ECG Language Model",
// ICLR 2025). Heartbeats are words, a record is a sentence of them.
//
//   tokens      R peaks from the QRS detector of ecgbench/dsp.hpp on `detection_lead` (lead I, as
//               HeartLang's fixed QRSTokenizer, their issue #2; a record whose lead I is absent uses
//               every present lead); each beat reads the samples between the midpoints to its
//               neighbours, at most `beat_window_ms` / 2 either side of R (common/beats.hpp); at most
//               `max_beats` per record
//   vocabulary  fitted once in setup() over up to `kmeans_sample` single-lead beat words (the
//               window centred on R, zero outside the beat) of the pretraining split and kept in the
//               checkpoint: `vocabulary = "kmeans"` (default) `vocabulary_size` k-means centres
//               (`kmeans_iterations` Lloyd steps; buffer "vocabulary", beat_vocabulary.hpp), or
//               `"vq"` a vector-quantised beat autoencoder of `vocabulary_size` codes trained for
//               `vq_steps` steps, HeartLang's VQ-HBR in brief (module "tokenizer", vq_tokenizer.hpp)
//   masking     ⌊mask_ratio · n⌉ of a record's n beats (at least 1, at most n − 1) hidden: their
//               samples zeroed in every lead before the encoder, so nothing of them leaks into
//               neighbouring tokens
//   embedding   the experiment's encoder reads the whole (masked) record; a beat's embedding is the
//               mean of the encoder's tokens weighted by how many of the beat's samples each reads
//               (tokens of absent leads left out), so the encoder is what learns and what tasks probe
//   sentence    a transformer of `depth` pre-norm blocks of `width` (method state, not probed) over
//               the beats: Linear(token width → width) + a learned embedding of the beat's 1-s time
//               block (HeartLang's in_time) + a learned position (sine-cosine start) of its index in
//               the sentence; a hidden beat is a learned mask token with its position only (its time
//               block would give its rhythm away)
//   form        cross-entropy of the vocabulary index of each hidden beat's word in each present
//               lead (a Linear to leads × vocabulary_size)
//   rhythm      squared error of the hidden beat's RR intervals to its previous and next beat (in
//               seconds; a beat without that neighbour has no target), weighted by `rhythm_weight`
// Records with fewer than `min_beats` detected beats stay in the encoder's batch (BatchNorm) but out
// of both losses; their share is the stored term "skipped_share" (a batch with none left gives a
// zero loss). Other stored terms: "form", "rhythm", "form_accuracy", "beats" (per record),
// "hidden_share" (hidden beats / beats of the records in the losses), "code_perplexity" (exp of the
// entropy of the hidden words' codes in the batch: how many words the targets use).
//
// What it changes relative to HeartLang: the default vocabulary is k-means over beat words where
// HeartLang learns a VQ codebook (VQ-HBR: 8192 entries, 5,394 used, trained to reconstruct beats);
// the "vq" one is that mechanism with MLPs (see vq_tokenizer.hpp); one sentence token per beat
// (the encoder mixes the leads) where HeartLang's ST-ECGFormer has one per (lead, beat) with lead
// embeddings, so the per-lead codes are predicted from the beat's token; HeartLang's rhythm level is
// the sentence context itself (time embeddings and masked prediction across beats) — the RR
// regression here is an explicit rhythm target added beside the code prediction; the probed model
// is the experiment's encoder, not the sentence transformer.
#include "beat_vocabulary.hpp"
#include "common/beats.hpp"
#include "common/transformer.hpp"
#include "ecgbench/plugin.hpp"
#include "sentence_losses.hpp"
#include "vq_tokenizer.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace hl = ecgbench::heartlang;
namespace bt = ecgbench::beats;
namespace nn = torch::nn;

// A batch cut into sentences, on the CPU. M = the most beats of a record in the batch.
struct Sentences {
    std::vector<std::vector<bt::Beat>> beats;  // per record
    at::Tensor keep;                           // float [B, T]: 0 on hidden beats' samples
    at::Tensor weights;                        // float [B, M, N]: each beat's token weights (rows sum to 1)
    at::Tensor valid, hidden;                  // bool [B, M]
    at::Tensor time_block;                     // int64 [B, M]
    at::Tensor rr;                             // float [B, M, 2]: RR to the previous and next beat, s
    at::Tensor rr_defined;                     // bool [B, M, 2]
    at::Tensor codes, scored;                  // int64 / bool [B, M, L]: hidden beats' codes per present lead
};

class HeartLang : public ecgbench::SslMethod {
public:
    explicit HeartLang(const ecgbench::Params& p)
        : vocabulary_kind_(p.get_string("vocabulary")),
          vq_steps_(p.get_int("vq_steps")),
          vocabulary_size_(p.get_int("vocabulary_size")),
          iterations_(p.get_int("kmeans_iterations")),
          sample_(p.get_int("kmeans_sample")),
          window_ms_(p.get_float("beat_window_ms")),
          max_beats_(p.get_int("max_beats")),
          min_beats_(p.get_int("min_beats")),
          ratio_(p.get_float("mask_ratio")),
          width_(p.get_int("width")),
          depth_(p.get_int("depth")),
          heads_(p.get_int("heads")),
          rhythm_weight_(p.get_float("rhythm_weight")),
          detection_lead_name_(p.get_string("detection_lead")) {
        if (width_ % heads_ != 0 || width_ % 2 != 0)
            throw std::invalid_argument("heartlang: param 'width' (" + std::to_string(width_) +
                                        ") must be even and divisible by 'heads' (" + std::to_string(heads_) + ")");
        if (min_beats_ > max_beats_)
            throw std::invalid_argument("heartlang: param 'min_beats' (" + std::to_string(min_beats_) +
                                        ") exceeds 'max_beats' (" + std::to_string(max_beats_) + ")");
    }

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        const auto& input = context.input;
        fs_ = input.sampling_rate_hz;
        samples_ = input.samples;
        leads_ = input.leads;
        cutter_.emplace(input, detection_lead_name_, window_ms_, max_beats_, "heartlang");
        window_ = cutter_->window();
        bt::TokenLayout layout = bt::describe_tokens(encoder, leads_, samples_, "heartlang");
        spans_ = std::move(layout.spans);
        const std::int64_t token_width = layout.width;

        embed_ = register_module("embed", nn::Linear(token_width, width_));
        blocks_ = std::make_unique<ecgbench::encoders::TransformerStack>(*this, "blocks", depth_, width_, heads_, 4 * width_);
        norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width_})));
        form_head_ = register_module("form_head", nn::Linear(width_, leads_ * vocabulary_size_));
        rhythm_head_ = register_module("rhythm_head", nn::Linear(width_, 2));
        ecgbench::encoders::initialise_transformer(*this);
        mask_token_ = register_parameter("mask_token", at::randn({width_}) * 0.02);
        position_ = register_parameter("position", ecgbench::encoders::sincos_positions(max_beats_, width_));
        time_blocks_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(samples_ / fs_)));
        time_ = register_parameter("time", at::randn({time_blocks_, width_}) * 0.02);
        if (vocabulary_kind_ == "vq") {
            hl::VqOptions options;
            options.codes = vocabulary_size_;
            options.steps = vq_steps_;
            tokenizer_ = register_module("tokenizer", hl::VqTokenizer(window_, options));
        } else {
            vocabulary_ = register_buffer("vocabulary", at::zeros({vocabulary_size_, window_}));
        }
        // Rebuilt to load a checkpoint (total_steps = 0): the loaded state replaces the vocabulary.
        if (context.total_steps > 0) {
            if (!context.data) throw std::invalid_argument("heartlang: setup() needs the pretraining split to fit its vocabulary");
            const at::Tensor words = sample_words(*context.data);
            if (tokenizer_) {
                tokenizer_->fit(words);
            } else {
                torch::NoGradGuard no_grad;
                vocabulary_.copy_(hl::fit_kmeans(words, vocabulary_size_, iterations_));
            }
        }
        // Fitted once: the pretraining optimiser leaves the tokenizer alone.
        if (tokenizer_)
            for (auto& parameter : tokenizer_->parameters()) parameter.set_requires_grad(false);
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!embed_) throw std::logic_error("heartlang: loss() called before setup()");
        const auto device = batch.signals.device();
        const Sentences s = cut(batch);
        const at::Tensor tokens =
            encoder.encode({batch.signals * s.keep.to(device).unsqueeze(1), batch.lead_present, {}}).tokens;
        if (!tokens.defined() || tokens.dim() != 3 || tokens.size(1) != static_cast<std::int64_t>(spans_.size()))
            throw std::runtime_error("heartlang: the encoder returned no tokens [B, " + std::to_string(spans_.size()) + ", D]");

        const std::int64_t b = batch.size();
        std::vector<std::int64_t> eligible;
        double beats = 0;
        for (std::int64_t i = 0; i < b; ++i) {
            const auto n = static_cast<std::int64_t>(s.beats[static_cast<std::size_t>(i)].size());
            beats += static_cast<double>(n);
            if (n >= min_beats_) eligible.push_back(i);
        }
        std::map<std::string, at::Tensor> terms{
            {"beats", at::full({}, beats / static_cast<double>(b))},
            {"skipped_share", at::full({}, 1.0 - static_cast<double>(eligible.size()) / static_cast<double>(b))}};
        if (eligible.empty()) {
            const at::Tensor zero = tokens.sum() * 0;
            terms.insert({{"form", zero.detach()}, {"rhythm", zero.detach()}, {"form_accuracy", zero.detach()}});
            return {zero, terms};
        }
        const at::Tensor rows = at::tensor(eligible, at::kLong);
        const auto on = [&](const at::Tensor& t) { return t.index_select(0, rows).to(device); };
        const at::Tensor hidden = on(s.hidden), valid = on(s.valid);
        terms["hidden_share"] = hidden.sum().to(at::kFloat).cpu() / valid.sum().to(at::kFloat).cpu();
        const std::int64_t e = rows.size(0), m = hidden.size(1);

        const at::Tensor beat = on(s.weights).bmm(tokens.index_select(0, rows.to(device)));  // [E, M, D]
        at::Tensor x = embed_->forward(beat) + time_.index_select(0, on(s.time_block).reshape({-1})).view({e, m, width_});
        x = at::where(hidden.unsqueeze(-1), mask_token_.view({1, 1, width_}), x) + position_.narrow(0, 0, m).unsqueeze(0);
        const at::Tensor h = norm_->forward(blocks_->forward(x, valid.logical_not())).reshape({e * m, width_});

        const at::Tensor picked = hidden.reshape({-1}).nonzero().squeeze(1);
        const at::Tensor context = h.index_select(0, picked);
        const auto pick = [&](const at::Tensor& t) { return on(t).flatten(0, 1).index_select(0, picked); };
        const at::Tensor logits = form_head_->forward(context).view({-1, leads_, vocabulary_size_});
        const at::Tensor codes = pick(s.codes), scored = pick(s.scored);
        const at::Tensor form = hl::form_loss(logits, codes, scored);
        const at::Tensor rhythm = hl::rhythm_loss(rhythm_head_->forward(context), pick(s.rr), pick(s.rr_defined));
        terms["form"] = form.detach();
        terms["rhythm"] = rhythm.detach();
        terms["form_accuracy"] = hl::form_accuracy(logits.detach(), codes, scored);
        terms["code_perplexity"] = hl::code_perplexity(codes.masked_select(scored), vocabulary_size_);
        return {form + rhythm_weight_ * rhythm, terms};
    }

private:
    // The beats of record `signal` ([leads, T] contiguous) with leads `present`.
    std::vector<bt::Beat> record_beats(const float* signal, const bool* present) const { return (*cutter_)(signal, present); }

    // The vocabulary index of each word (float [P, window], CPU): int64 [P].
    at::Tensor codes_of(const at::Tensor& words) {
        if (tokenizer_) return tokenizer_->codes(words.to(ecgbench::device_of(*tokenizer_))).cpu();
        return hl::nearest_centre(words, vocabulary_.to(at::kCPU));
    }

    // Single-lead beat words of the pretraining split for the vocabulary: records in a random order
    // (the global generator, seeded by the host), every beat of every present lead, until
    // `kmeans_sample` words.
    at::Tensor sample_words(const ecgbench::EcgSplit& data) const {
        const std::int64_t n = data.size();
        const at::Tensor order = at::randperm(n, at::kLong);
        const at::Tensor present_all = data.lead_present.defined() ? data.lead_present.to(at::kBool).contiguous()
                                                                    : at::ones({n, leads_}, at::kBool);
        std::vector<float> words;
        std::int64_t count = 0;
        for (std::int64_t k = 0; k < n && count < sample_; ++k) {
            const std::int64_t i = order[k].item<std::int64_t>();
            const at::Tensor record = data.signals[i].to(at::kFloat).contiguous();
            const bool* present = present_all[i].data_ptr<bool>();
            for (const bt::Beat& beat : record_beats(record.data_ptr<float>(), present)) {
                for (std::int64_t l = 0; l < leads_ && count < sample_; ++l) {
                    if (!present[l]) continue;
                    words.resize(words.size() + static_cast<std::size_t>(window_));
                    bt::beat_window(record.data_ptr<float>() + l * samples_, beat, window_, words.data() + count * window_);
                    ++count;
                }
            }
        }
        if (count == 0)
            throw std::runtime_error("heartlang: the QRS detector found no beats in the " + std::to_string(n) +
                                     " records of the pretraining split; no vocabulary can be built");
        return at::from_blob(words.data(), {count, window_}, at::kFloat).clone();
    }

    Sentences cut(const ecgbench::Batch& batch) {
        const std::int64_t b = batch.size(), n_tokens = static_cast<std::int64_t>(spans_.size());
        const at::Tensor signals = batch.signals.to(at::kCPU, at::kFloat).contiguous();
        const at::Tensor present_all = batch.lead_present.defined() ? batch.lead_present.to(at::kCPU, at::kBool).contiguous()
                                                                     : at::ones({b, leads_}, at::kBool);
        Sentences s;
        std::int64_t m = 1;
        for (std::int64_t i = 0; i < b; ++i) {
            s.beats.push_back(record_beats(signals[i].data_ptr<float>(), present_all[i].data_ptr<bool>()));
            m = std::max<std::int64_t>(m, static_cast<std::int64_t>(s.beats.back().size()));
        }
        s.keep = at::ones({b, samples_});
        s.weights = at::zeros({b, m, n_tokens});
        s.valid = at::zeros({b, m}, at::kBool);
        s.hidden = at::zeros({b, m}, at::kBool);
        s.time_block = at::zeros({b, m}, at::kLong);
        s.rr = at::zeros({b, m, 2});
        s.rr_defined = at::zeros({b, m, 2}, at::kBool);
        s.codes = at::zeros({b, m, leads_}, at::kLong);
        s.scored = at::zeros({b, m, leads_}, at::kBool);
        auto keep = s.keep.accessor<float, 2>();
        auto valid = s.valid.accessor<bool, 2>();
        auto hidden = s.hidden.accessor<bool, 2>();
        auto time_block = s.time_block.accessor<std::int64_t, 2>();
        auto rr = s.rr.accessor<float, 3>();
        auto rr_defined = s.rr_defined.accessor<bool, 3>();
        auto scored = s.scored.accessor<bool, 3>();

        std::vector<float> words;  // hidden beats' words, in (record, beat, lead) order of `scored`
        for (std::int64_t i = 0; i < b; ++i) {
            const auto& beats = s.beats[static_cast<std::size_t>(i)];
            const auto count = static_cast<std::int64_t>(beats.size());
            const bool* present = present_all[i].data_ptr<bool>();
            const float* signal = signals[i].data_ptr<float>();
            std::vector<bool> is_hidden(static_cast<std::size_t>(count), false);
            if (count >= min_beats_) {
                const std::int64_t masked =
                    std::clamp<std::int64_t>(std::llround(ratio_ * static_cast<double>(count)), 1, count - 1);
                const at::Tensor chosen = at::randperm(count, at::kLong).narrow(0, 0, masked);
                for (std::int64_t k = 0; k < masked; ++k) is_hidden[static_cast<std::size_t>(chosen[k].item<std::int64_t>())] = true;
            }
            for (std::int64_t j = 0; j < count; ++j) {
                const bt::Beat& beat = beats[static_cast<std::size_t>(j)];
                valid[i][j] = true;
                time_block[i][j] = std::min(time_blocks_ - 1, static_cast<std::int64_t>(static_cast<double>(beat.r) / fs_));
                if (j > 0) {
                    rr[i][j][0] = static_cast<float>(static_cast<double>(beat.r - beats[static_cast<std::size_t>(j - 1)].r) / fs_);
                    rr_defined[i][j][0] = true;
                }
                if (j + 1 < count) {
                    rr[i][j][1] = static_cast<float>(static_cast<double>(beats[static_cast<std::size_t>(j + 1)].r - beat.r) / fs_);
                    rr_defined[i][j][1] = true;
                }
                // Each token weighs the samples of the beat it reads (tokens of absent leads none).
                bt::beat_token_weights(beat, spans_, present, s.weights.data_ptr<float>() + (i * m + j) * n_tokens);
                if (!is_hidden[static_cast<std::size_t>(j)]) continue;
                hidden[i][j] = true;
                for (std::int64_t t = beat.start; t < beat.end; ++t) keep[i][t] = 0;
                for (std::int64_t l = 0; l < leads_; ++l) {
                    if (!present[l]) continue;
                    scored[i][j][l] = true;
                    words.resize(words.size() + static_cast<std::size_t>(window_));
                    bt::beat_window(signal + l * samples_, beat, window_, words.data() + words.size() - static_cast<std::size_t>(window_));
                }
            }
        }
        if (!words.empty()) {
            const auto count = static_cast<std::int64_t>(words.size()) / window_;
            s.codes.masked_scatter_(s.scored, codes_of(at::from_blob(words.data(), {count, window_}, at::kFloat)));
        }
        return s;
    }

    std::string vocabulary_kind_;
    std::int64_t vq_steps_, vocabulary_size_, iterations_, sample_;
    double window_ms_;
    std::int64_t max_beats_, min_beats_;
    double ratio_;
    std::int64_t width_, depth_, heads_;
    double rhythm_weight_;
    std::string detection_lead_name_;

    double fs_ = 0;
    std::int64_t samples_ = 0, leads_ = 0, window_ = 0, time_blocks_ = 1;
    std::optional<bt::BeatCutter> cutter_;
    std::vector<ecgbench::TokenSpan> spans_;
    nn::Linear embed_{nullptr}, form_head_{nullptr}, rhythm_head_{nullptr};
    nn::LayerNorm norm_{nullptr};
    std::unique_ptr<ecgbench::encoders::TransformerStack> blocks_;
    at::Tensor mask_token_, position_, time_, vocabulary_;
    hl::VqTokenizer tokenizer_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    ecgbench::PluginDescriptor d;
    d.manifest = {
        "heartlang",
        ecgbench::PluginKind::Ssl,
        "1.0.0",
        "HeartLang (Jin et al. 2025): beats from a QRS detector on lead I are words of a sentence; a k-means or "
        "learned (VQ) beat vocabulary; hidden beats' codes per lead (form) and RR intervals (rhythm) predicted by a sentence "
        "transformer over the encoder's beat-pooled tokens",
        {param::integer("vocabulary_size", 256,
                        "heartbeat words: k-means centres or VQ codes (HeartLang's VQ codebook: 8192 entries, 5,394 used)")
             .between(2, 8192),
         param::choice("vocabulary", "kmeans", {"kmeans", "vq"},
                       "how the words are built: k-means of beat words, or a vector-quantised beat autoencoder "
                       "(HeartLang's VQ-HBR in brief)"),
         param::integer("vq_steps", 3000, "training steps of the VQ tokenizer (batches of 256 words) before pretraining")
             .between(1, 1000000),
         param::integer("kmeans_iterations", 20, "Lloyd iterations at most (stops early once stable)").between(1, 1000),
         param::integer("kmeans_sample", 50000,
                        "single-lead beat words of the pretraining split the vocabulary is fitted on (records in a "
                        "seeded random order until this many)")
             .between(1, 100000000),
         param::real("beat_window_ms", 960, "beat word window centred on R (HeartLang: 96 samples at 100 Hz = 960 ms)")
             .between(200, 3000),
         param::text("detection_lead", "I",
                     "lead the QRS detector reads (HeartLang: lead I); \"\" = every present lead; a record whose "
                     "detection lead is absent uses every present lead"),
         param::integer("max_beats", 64, "beats per sentence at most (the first ones are kept)").between(2, 1024),
         param::integer("min_beats", 2,
                        "records with fewer detected beats are left out of the losses (stored share: skipped_share)")
             .between(2, 1024),
         param::real("mask_ratio", 0.5, "share of a record's beats hidden (at least one, never all)").between(0.05, 0.95),
         param::integer("width", 128, "sentence transformer width (even, divisible by heads)").between(8, 4096),
         param::integer("depth", 2, "sentence transformer blocks").between(1, 32),
         param::integer("heads", 4, "sentence transformer attention heads").between(1, 64),
         param::real("rhythm_weight", 1.0, "weight of the RR regression (seconds²) beside the code cross-entropy")
             .between(0, 100)},
        /*needs=*/{"tokens"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> {
        return std::make_shared<HeartLang>(p);
    };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
