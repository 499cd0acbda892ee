// melp: multi-scale ECG–language pretraining after MELP (Wang, Xu & Yu, "From Token to Rhythm: A
// Multi-Scale Approach for ECG-Language Pretraining", ICML 2025). An ECG and its report are aligned
// at three scales, each a contrastive loss over the batch's records that have a report, summed with
// the weights `rhythm_weight`, `beat_weight` and `token_weight`:
//   rhythm  the encoder's pooled embedding, linearly projected, against the report's embedding (the
//           text tower's mean over tokens, projected by Linear–GELU–Linear): CLIP's symmetric loss
//           (ecgbench::clip_loss, τ = `temperature`), as MERL's cross-modal term. This is the joint
//           space the zero_shot task scores in (ECG side: the pooled projection).
//   beat    heartbeats against the report's sentences. Beats come from the core QRS detector
//           (ecgbench/dsp.hpp) on `detection_lead` (lead I; every present lead when it is absent),
//           cut as HeartLang cuts them (plugins/ssl/common/beats.hpp: between the midpoints to the
//           neighbouring R peaks, at most `beat_window_ms` / 2 either side of R; at most `max_beats`);
//           a beat's embedding is the mean of the encoder's tokens weighted by how many of the beat's
//           samples each reads, through the rhythm level's projection (so beats, records and the
//           sentence-like prompts of zero_shot share one joint space; a projection of its own when
//           the encoder's tokens are not as wide as its pooled embedding). The report is split into
//           sentences (after '.', ';' or a line break; at most `max_sentences`), each embedded by the
//           text tower like a whole report. A record and a report are compared by FILIP's late
//           interaction (multiscale.hpp): ECG → text = mean over the record's beats of the best
//           cosine with one of the report's sentences, text → ECG = mean over the sentences of the
//           best cosine with one of the beats; cross-entropy over the batch in both directions,
//           summed (late_interaction_loss, τ = `temperature`).
//   token   the encoder's tokens (tokens of absent leads left out), through a linear projection,
//           against the report's token states (the text encoder's last layer, through a linear
//           projection, padding left out): the same late-interaction loss, FILIP's fine-grained
//           alignment.
// The text tower is MERL's (plugins/ssl/common/report_tower.hpp): a SentencePiece tokenizer fitted on
// the pretraining reports (kept with its SHA-256 in the checkpoint) and a small transformer trained
// from scratch, or a user-supplied TorchScript text encoder (`text_model`; it returns one vector per
// text, so it has no token states: then `token_weight` must be 0). Needs `texts` and `tokens`,
// provides `text_tower`. A record whose report yields no token stays in the encoder's batch but out
// of every term; one without a detected beat (or whose report has no sentence) leaves the beat term
// only; a term with fewer than two records is 0. Stored terms: rhythm, beat, token (unweighted),
// paired (share of records with a report), beat_pairs (share in the beat term), beats (per record),
// sentences (per report).
//
// What it simplifies relative to the paper:
//  - MELP's text encoder is a cardiology-specific language model (Med-CPT further pretrained on ECG
//    reports); here it is trained from scratch with the ECG side (or the user's TorchScript module).
//  - MELP's token level is a captioning loss (a text decoder generating the report from the ECG
//    tokens, CoCa-style); here it is FILIP's token late interaction, contrastive, with no decoder.
//  - MELP's beat level aligns beat-level ECG features with report sentences through a local
//    alignment loss; here the beats come from the QRS detector and the alignment is the same late
//    interaction at beat/sentence granularity, with one temperature for every level.
//  - No test-time prompt enhancement: the zero_shot task averages the prompts it is given.
#include "common/beats.hpp"
#include "common/report_tower.hpp"
#include "multiscale.hpp"

#include "ecgbench/losses.hpp"
#include "ecgbench/plugin.hpp"
#include "ecgbench/text.hpp"

#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;
namespace bt = ecgbench::beats;
using ecgbench::text::Tokenizer;

class Melp : public ecgbench::SslMethod, public ecgbench::TextTower {
public:
    explicit Melp(const ecgbench::Params& p)
        : tower_(p, "melp"),
          proj_dim_(p.get_int("proj_dim")),
          temperature_(p.get_float("temperature")),
          rhythm_weight_(p.get_float("rhythm_weight")),
          beat_weight_(p.get_float("beat_weight")),
          token_weight_(p.get_float("token_weight")),
          detection_lead_(p.get_string("detection_lead")),
          window_ms_(p.get_float("beat_window_ms")),
          max_beats_(p.get_int("max_beats")),
          max_sentences_(p.get_int("max_sentences")) {
        if (tower_.uses_text_model() && token_weight_ > 0)
            throw std::invalid_argument("melp: token_weight > 0 needs the in-house text encoder's token states; text_model '" +
                                        p.get_string("text_model") + "' returns one vector per text (set token_weight = 0)");
    }

    void setup(ecgbench::Encoder& encoder, const ecgbench::PretrainContext& context) override {
        if (context.embedding_dim < 1) throw std::invalid_argument("melp: embedding_dim must be positive");
        const auto& input = context.input;
        bt::TokenLayout layout = bt::describe_tokens(encoder, input.leads, input.samples, "melp");
        spans_ = std::move(layout.spans);
        cutter_.emplace(input, detection_lead_, window_ms_, max_beats_, "melp");
        leads_ = input.leads;
        samples_ = input.samples;
        ecg_projection_ = register_module("ecg_projection", nn::Linear(context.embedding_dim, proj_dim_));
        // Beats share the records' projection where tokens and the pooled embedding have one width
        // (resnet1d, xresnet1d, vit1d: the pooled embedding is the tokens' mean), so beats, records
        // and the prompts zero_shot embeds meet in one joint space; otherwise beats get their own.
        beat_projection_ = layout.width == context.embedding_dim
                               ? ecg_projection_
                               : register_module("beat_projection", nn::Linear(layout.width, proj_dim_));
        token_projection_ = register_module("token_projection", nn::Linear(layout.width, proj_dim_));
        tower_.setup(*this, context);
        text_token_projection_ = register_module("text_token_projection", nn::Linear(tower_.width(), proj_dim_));
    }

    ecgbench::Loss loss(ecgbench::Encoder& encoder, const ecgbench::Batch& batch) override {
        if (!ecg_projection_) throw std::logic_error("melp: loss() called before setup()");
        const std::int64_t b = batch.size();
        if (batch.texts.size() != static_cast<std::size_t>(b))
            throw std::invalid_argument("melp: the batch carries no report texts (the dataset has none)");
        const ecgbench::EncoderOutput out = encoder.encode({batch.signals, batch.lead_present, {}});
        const auto n_tokens = static_cast<std::int64_t>(spans_.size());
        if (!out.tokens.defined() || out.tokens.dim() != 3 || out.tokens.size(1) != n_tokens)
            throw std::runtime_error("melp: the encoder returned no tokens [B, " + std::to_string(n_tokens) + ", D]");
        const auto device = out.pooled.device();
        const at::Tensor zero = out.pooled.sum() * 0;

        // Records whose report yields a token take part; the text tower runs once over their reports.
        const at::Tensor ids_all = tower_.token_ids(batch.texts);
        const at::Tensor rows = ids_all.select(1, 0).ne(Tokenizer::kPadId).nonzero().squeeze(1);
        const std::int64_t r = rows.numel();
        std::map<std::string, at::Tensor> terms{{"paired", at::full({}, static_cast<double>(r) / static_cast<double>(b))}};
        at::Tensor rhythm = zero, token = zero, beat = zero;
        double beat_pairs = 0, beats = 0, sentences = 0;
        if (r >= 2) {
            const at::Tensor rows_d = rows.to(device);
            const at::Tensor ids = ids_all.index_select(0, rows);
            const auto text = tower_.encode(ids);
            rhythm = ecgbench::clip_loss(ecg_projection_->forward(out.pooled.index_select(0, rows_d)), text.embedding, temperature_);

            const at::Tensor present = batch.lead_present.defined() ? batch.lead_present.to(at::kCPU, at::kBool).contiguous()
                                                                    : at::ones({b, leads_}, at::kBool);
            const at::Tensor tokens = out.tokens.index_select(0, rows_d);
            if (token_weight_ > 0) {
                const at::Tensor ecg = token_projection_->forward(tokens);
                const at::Tensor words = text_token_projection_->forward(text.states);
                token = ecgbench::melp::late_interaction_loss(ecg, token_mask(present.index_select(0, rows)).to(device), words,
                                                              ids.ne(Tokenizer::kPadId).to(device), temperature_);
            }
            if (beat_weight_ > 0) beat = beat_loss(batch, present, rows, tokens, beats, sentences, beat_pairs);
        }
        terms["beats"] = at::full({}, r > 0 ? beats / static_cast<double>(r) : 0.0);
        terms["sentences"] = at::full({}, r > 0 ? sentences / static_cast<double>(r) : 0.0);
        terms["beat_pairs"] = at::full({}, beat_pairs / static_cast<double>(b));
        terms["rhythm"] = rhythm.detach();
        terms["beat"] = beat.detach();
        terms["token"] = token.detach();
        return {rhythm_weight_ * rhythm + beat_weight_ * beat + token_weight_ * token, terms};
    }

    at::Tensor embed_texts(const std::vector<std::string>& texts) override { return tower_.embed_texts(texts); }

    at::Tensor embed_signals(ecgbench::Encoder& encoder, const ecgbench::EncoderBatch& batch) override {
        return ecg_projection_->forward(encoder.encode(batch).pooled);
    }

    std::string text_identity() const override { return tower_.identity(); }

    void train(bool on = true) override {
        SslMethod::train(on);
        tower_.train(on);
    }

private:
    // bool [R, N]: the tokens that read a lead present in the record (every token of an encoder
    // whose tokens read every lead).
    at::Tensor token_mask(const at::Tensor& present) const {
        at::Tensor mask = at::ones({present.size(0), static_cast<std::int64_t>(spans_.size())}, at::kBool);
        for (std::size_t t = 0; t < spans_.size(); ++t)
            if (spans_[t].lead >= 0) mask.select(1, static_cast<std::int64_t>(t)).copy_(present.select(1, spans_[t].lead));
        return mask;
    }

    // The beat term over the paired records `rows` (their tokens [R, N, D]); counts detected beats,
    // sentences and the records that take part.
    at::Tensor beat_loss(const ecgbench::Batch& batch, const at::Tensor& present, const at::Tensor& rows, const at::Tensor& tokens,
                         double& beats_total, double& sentences_total, double& pairs) {
        const std::int64_t r = rows.numel(), n_tokens = static_cast<std::int64_t>(spans_.size());
        const at::Tensor signals = batch.signals.index_select(0, rows.to(batch.signals.device())).to(at::kCPU, at::kFloat).contiguous();
        std::vector<std::vector<bt::Beat>> beats(static_cast<std::size_t>(r));
        std::vector<std::vector<std::string>> sentences(static_cast<std::size_t>(r));
        std::int64_t most_beats = 1, most_sentences = 1;
        for (std::int64_t i = 0; i < r; ++i) {
            const std::int64_t row = rows[i].item<std::int64_t>();
            beats[static_cast<std::size_t>(i)] = (*cutter_)(signals[i].data_ptr<float>(), present[row].data_ptr<bool>());
            sentences[static_cast<std::size_t>(i)] = ecgbench::melp::split_sentences(batch.texts[static_cast<std::size_t>(row)], max_sentences_);
            most_beats = std::max<std::int64_t>(most_beats, static_cast<std::int64_t>(beats[static_cast<std::size_t>(i)].size()));
            most_sentences = std::max<std::int64_t>(most_sentences, static_cast<std::int64_t>(sentences[static_cast<std::size_t>(i)].size()));
        }
        // Beat pooling weights and masks; the sentences of every record, flattened.
        at::Tensor weights = at::zeros({r, most_beats, n_tokens});
        at::Tensor beat_valid = at::zeros({r, most_beats}, at::kBool);
        std::vector<std::string> flat;
        std::vector<std::int64_t> slot;  // row-major [R, most_sentences] position of each flattened sentence
        for (std::int64_t i = 0; i < r; ++i) {
            const auto& record_beats = beats[static_cast<std::size_t>(i)];
            const bool* lead_present = present[rows[i].item<std::int64_t>()].data_ptr<bool>();
            for (std::size_t j = 0; j < record_beats.size(); ++j) {
                float* row = weights.data_ptr<float>() + (i * most_beats + static_cast<std::int64_t>(j)) * n_tokens;
                bt::beat_token_weights(record_beats[j], spans_, lead_present, row);
                beat_valid[i][static_cast<std::int64_t>(j)] = std::any_of(row, row + n_tokens, [](float w) { return w > 0; });
            }
            beats_total += static_cast<double>(record_beats.size());
            const auto& record_sentences = sentences[static_cast<std::size_t>(i)];
            sentences_total += static_cast<double>(record_sentences.size());
            for (std::size_t m = 0; m < record_sentences.size(); ++m) {
                flat.push_back(record_sentences[m]);
                slot.push_back(i * most_sentences + static_cast<std::int64_t>(m));
            }
        }
        const auto device = tokens.device();
        if (flat.empty()) return tokens.sum() * 0;
        // Sentences that yield no token are left out; the others are embedded like reports.
        const at::Tensor sentence_ids = tower_.token_ids(flat);
        const at::Tensor kept = sentence_ids.select(1, 0).ne(Tokenizer::kPadId).nonzero().squeeze(1);
        at::Tensor sentence_valid = at::zeros({r * most_sentences}, at::kBool);
        const at::Tensor kept_slots = at::tensor(slot, at::kLong).index_select(0, kept);
        sentence_valid.index_fill_(0, kept_slots, true);
        sentence_valid = sentence_valid.view({r, most_sentences});
        const at::Tensor eligible = beat_valid.any(1).logical_and(sentence_valid.any(1)).nonzero().squeeze(1);
        pairs = static_cast<double>(eligible.numel());
        if (eligible.numel() < 2) return tokens.sum() * 0;

        const at::Tensor embedded = tower_.embed_ids(sentence_ids.index_select(0, kept));  // [S, P]
        at::Tensor sentence_grid = at::zeros({r * most_sentences, embedded.size(1)}, embedded.options());
        sentence_grid = sentence_grid.index_copy(0, kept_slots.to(device), embedded).view({r, most_sentences, -1});
        const at::Tensor beat_embeddings = beat_projection_->forward(weights.to(device).bmm(tokens));  // [R, M, P]
        const at::Tensor e = eligible.to(device);
        return ecgbench::melp::late_interaction_loss(beat_embeddings.index_select(0, e), beat_valid.to(device).index_select(0, e),
                                                     sentence_grid.index_select(0, e), sentence_valid.to(device).index_select(0, e),
                                                     temperature_);
    }

    ecgbench::text::ReportTower tower_;
    std::int64_t proj_dim_;
    double temperature_, rhythm_weight_, beat_weight_, token_weight_;
    std::string detection_lead_;
    double window_ms_;
    std::int64_t max_beats_, max_sentences_;
    std::int64_t leads_ = 0, samples_ = 0;
    std::vector<ecgbench::TokenSpan> spans_;
    std::optional<bt::BeatCutter> cutter_;
    nn::Linear ecg_projection_{nullptr}, beat_projection_{nullptr}, token_projection_{nullptr}, text_token_projection_{nullptr};
};

ecgbench::PluginDescriptor describe() {
    namespace param = ecgbench::param;
    std::vector<ecgbench::ParamSpec> params = ecgbench::text::text_tower_params("width of the joint ECG–text space (MELP: 256)");
    const std::vector<ecgbench::ParamSpec> own{
        param::real("temperature", 0.07, "contrastive temperature τ of every level").between(1e-3, 10),
        param::real("rhythm_weight", 1.0, "weight of the rhythm level (pooled ECG ↔ report, CLIP loss)").between(0, 100),
        param::real("beat_weight", 0.5, "weight of the beat level (QRS-detected beats ↔ report sentences, late interaction)").between(0, 100),
        param::real("token_weight", 0.5, "weight of the token level (encoder tokens ↔ report tokens, late interaction)").between(0, 100),
        param::text("detection_lead", "I",
                    "lead the QRS detector reads; \"\" = every present lead; a record whose detection lead is absent uses "
                    "every present lead"),
        param::real("beat_window_ms", 960, "a beat reads at most half of this either side of its R peak").between(200, 3000),
        param::integer("max_beats", 64, "beats per record at most (the first ones are kept)").between(1, 1024),
        param::integer("max_sentences", 16, "sentences per report at most (the first ones are kept)").between(1, 256)};
    params.insert(params.end(), own.begin(), own.end());
    ecgbench::PluginDescriptor d;
    d.manifest = {"melp",
                  ecgbench::PluginKind::Ssl,
                  "1.0.0",
                  "After MELP (Wang et al. 2025): ECG–report alignment at rhythm (pooled ↔ report, CLIP), beat (QRS-detected "
                  "beats ↔ sentences) and token (encoder ↔ text tokens) level, FILIP late interaction; MERL's text tower",
                  std::move(params),
                  /*needs=*/{"texts", "tokens"},
                  /*provides=*/{"text_tower"}};
    d.make_ssl = [](const ecgbench::Params& p) -> std::shared_ptr<ecgbench::SslMethod> { return std::make_shared<Melp>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
