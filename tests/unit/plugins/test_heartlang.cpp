// The heartlang method (plugins/ssl/heartlang): its k-means vocabulary, QRS tokenisation and masked
// beat losses against hand-computed values; then the plugin itself on synthetic pulse trains: the
// vocabulary survives a checkpoint, the loss falls on a fixed batch, beat-poor records are skipped
// and counted, records without lead I are cut on their other leads, and a detection lead the data
// lacks is an error naming it.
#include "../../../plugins/ssl/common/beats.hpp"
#include "../../../plugins/ssl/heartlang/beat_vocabulary.hpp"
#include "../../../plugins/ssl/heartlang/sentence_losses.hpp"
#include "../../../plugins/ssl/heartlang/vq_tokenizer.hpp"
#include "runner/checkpoint.hpp"
#include "unit/plugins/ssl_method_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

namespace {

namespace hl = ecgbench::heartlang;
namespace bt = ecgbench::beats;
using namespace test_support;

at::Tensor rows(std::initializer_list<std::initializer_list<float>> values) {
    std::vector<at::Tensor> out;
    for (const auto& r : values) out.push_back(at::tensor(std::vector<float>(r)));
    return at::stack(out);
}

TEST(HeartLangVocabulary, NearestCentreBreaksTiesTowardsTheLowestIndex) {
    const at::Tensor codes = hl::nearest_centre(rows({{1, 0}, {4, 0}, {2.5, 0}, {0, 3}}), rows({{0, 0}, {5, 0}}));
    // (0, 3): 9 to the first centre, 25 + 9 to the second.
    EXPECT_TRUE(at::equal(codes, at::tensor(std::vector<std::int64_t>{0, 1, 0, 0})));
}

TEST(HeartLangVocabulary, KMeansFindsTheHandComputedCentres) {
    // Two tight pairs far apart: whatever k-means++ draws, Lloyd's steps end at the pairs' means.
    const at::Tensor points = rows({{0, 0}, {0, 1}, {10, 10}, {10, 11}});
    for (int seed = 0; seed < 10; ++seed) {
        at::manual_seed(seed);
        const at::Tensor centres = hl::fit_kmeans(points, 2, 20);
        const at::Tensor codes = hl::nearest_centre(points, centres);
        EXPECT_EQ(codes[0].item<std::int64_t>(), codes[1].item<std::int64_t>());
        EXPECT_EQ(codes[2].item<std::int64_t>(), codes[3].item<std::int64_t>());
        EXPECT_NE(codes[0].item<std::int64_t>(), codes[2].item<std::int64_t>());
        const std::int64_t low = codes[0].item<std::int64_t>(), high = codes[2].item<std::int64_t>();
        EXPECT_TRUE(at::allclose(centres[low], at::tensor(std::vector<float>{0, 0.5}))) << centres;
        EXPECT_TRUE(at::allclose(centres[high], at::tensor(std::vector<float>{10, 10.5}))) << centres;
    }
    // One dimension, three groups: {0, 1, 2} → 1, {10, 11} → 10.5, {20} → 20.
    at::manual_seed(3);
    const at::Tensor line = at::tensor(std::vector<float>{0, 1, 2, 10, 11, 20}).unsqueeze(1);
    const at::Tensor centres = std::get<0>(hl::fit_kmeans(line, 3, 50).squeeze(1).sort());
    EXPECT_TRUE(at::allclose(centres, at::tensor(std::vector<float>{1, 10.5, 20}))) << centres;
}

TEST(HeartLangVocabulary, SurplusCentresRepeatPointsAndAreNeverAssigned) {
    at::manual_seed(0);
    const at::Tensor points = rows({{1, 1}, {1, 1}, {4, 4}});
    const at::Tensor centres = hl::fit_kmeans(points, 4, 10);
    ASSERT_EQ(centres.size(0), 4);
    const at::Tensor codes = hl::nearest_centre(points, centres);
    EXPECT_EQ(std::get<0>(at::_unique(codes)).numel(), 2);
    for (std::int64_t k = 0; k < 4; ++k)  // every centre sits on a point
        EXPECT_LT(std::min((centres[k] - points[0]).abs().max().item<float>(), (centres[k] - points[2]).abs().max().item<float>()), 1e-6);
    EXPECT_THROW(hl::fit_kmeans(at::zeros({0, 2}), 2, 10), std::invalid_argument);
}

TEST(HeartLangTokens, SegmentsBetweenMidpointsWithinTheWindow) {
    // r = 40, 120, 200 in 230 samples, window 96 (48 either side): midpoints 80 and 160.
    const auto beats = bt::segment_beats({40, 120, 200}, 230, 96);
    ASSERT_EQ(beats.size(), 3u);
    EXPECT_EQ(beats[0].start, 0);
    EXPECT_EQ(beats[0].end, 80);
    EXPECT_EQ(beats[1].start, 80);
    EXPECT_EQ(beats[1].end, 160);
    EXPECT_EQ(beats[2].start, 160);
    EXPECT_EQ(beats[2].end, 230);
    // Far apart, the window bounds them: 100 ± 48, 400 ± 48.
    const auto apart = bt::segment_beats({100, 400}, 1000, 96);
    EXPECT_EQ(apart[0].start, 52);
    EXPECT_EQ(apart[0].end, 148);
    EXPECT_EQ(apart[1].start, 352);
    EXPECT_EQ(apart[1].end, 448);
}

TEST(HeartLangTokens, WordIsTheSegmentInAWindowCentredOnR) {
    std::vector<float> lead(10);
    for (int i = 0; i < 10; ++i) lead[static_cast<std::size_t>(i)] = static_cast<float>(i);
    std::vector<float> word(6);
    bt::beat_window(lead.data(), {5, 3, 8}, 6, word.data());  // window starts at 5 − 3 = 2; sample 2 is outside the beat
    EXPECT_EQ(word, (std::vector<float>{0, 3, 4, 5, 6, 7}));
}

// A lead with a narrow QRS-like spike of `amplitude` at every R peak in `peaks` and a wide T wave
// 250 ms later, at 100 Hz.
std::vector<float> pulse_train(std::int64_t samples, const std::vector<std::int64_t>& peaks, float amplitude, float t_wave = 0.25f) {
    std::vector<float> x(static_cast<std::size_t>(samples), 0.0f);
    for (std::int64_t r : peaks)
        for (std::int64_t t = 0; t < samples; ++t) {
            const double d = static_cast<double>(t - r), dt = static_cast<double>(t - r - 25);
            x[static_cast<std::size_t>(t)] += amplitude * static_cast<float>(std::exp(-d * d / (2 * 1.5 * 1.5)) +
                                                                            t_wave * std::exp(-dt * dt / (2 * 6.0 * 6.0)));
        }
    return x;
}

std::vector<std::int64_t> every(std::int64_t first, std::int64_t period, std::int64_t samples) {
    std::vector<std::int64_t> peaks;
    for (std::int64_t r = first; r < samples; r += period) peaks.push_back(r);
    return peaks;
}

TEST(HeartLangTokens, PulseTrainGivesOneBeatPerPulseAtItsPeak) {
    const std::int64_t samples = 1000;  // 10 s at 100 Hz, a pulse every 0.8 s from 0.4 s: 12 beats
    const auto truth = every(40, 80, samples);
    const auto lead = pulse_train(samples, truth, 1.0f);
    const auto beats = bt::tokenise({lead.data()}, samples, 100.0, 96, 64);
    ASSERT_EQ(beats.size(), truth.size());
    for (std::size_t i = 0; i < beats.size(); ++i) {
        EXPECT_NEAR(static_cast<double>(beats[i].r), static_cast<double>(truth[i]), 2.0) << "beat " << i;
        EXPECT_LE(beats[i].start, beats[i].r);
        EXPECT_GT(beats[i].end, beats[i].r);
        if (i > 0) {
            EXPECT_EQ(beats[i].start, beats[i - 1].end);  // 80 samples apart: the midpoints bound them
        }
    }
    // At most max_beats, the last one still ending at the midpoint to the next.
    const auto first5 = bt::tokenise({lead.data()}, samples, 100.0, 96, 5);
    ASSERT_EQ(first5.size(), 5u);
    EXPECT_EQ(first5[4].end, (beats[4].r + beats[5].r) / 2);
}

TEST(HeartLangLosses, FormCrossEntropyByHand) {
    // One hidden beat, two leads, vocabulary 3: lead 0 logits (0, 0, 0), code 1: ln 3; lead 1 logits
    // (0, ln 2, 0), code 1: −ln(2/4) = ln 2.
    const at::Tensor logits = at::tensor(std::vector<float>{0, 0, 0, 0, static_cast<float>(std::log(2.0)), 0}).view({1, 2, 3});
    const at::Tensor codes = at::tensor(std::vector<std::int64_t>{1, 1}).view({1, 2});
    const at::Tensor both = at::ones({1, 2}, at::kBool);
    EXPECT_NEAR(hl::form_loss(logits, codes, both).item<double>(), (std::log(3.0) + std::log(2.0)) / 2, 1e-6);
    const at::Tensor lead0 = at::tensor(std::vector<int>{1, 0}).to(at::kBool).view({1, 2});
    const at::Tensor garbage = at::tensor(std::vector<std::int64_t>{1, 99}).view({1, 2});  // unscored codes are never read
    EXPECT_NEAR(hl::form_loss(logits, garbage, lead0).item<double>(), std::log(3.0), 1e-6);
    // argmax of lead 0 is code 0 (first of equals): a miss; lead 1's is 1: a hit.
    EXPECT_NEAR(hl::form_accuracy(logits, codes, both).item<double>(), 0.5, 1e-6);
    const at::Tensor nothing = at::zeros({1, 2}, at::kBool);
    const at::Tensor trainable = logits.clone().requires_grad_(true);
    const at::Tensor zero = hl::form_loss(trainable, codes, nothing);
    EXPECT_EQ(zero.item<double>(), 0.0);
    zero.backward();
    EXPECT_TRUE(trainable.grad().defined());
}

TEST(HeartLangLosses, RhythmSquaredErrorOverDefinedIntervals) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const at::Tensor prediction = rows({{1, 2}, {0.5, 0}}).requires_grad_(true);
    const at::Tensor target = rows({{1.5, nan}, {0.5, 1}});
    const at::Tensor defined = at::tensor(std::vector<int>{1, 0, 1, 1}).to(at::kBool).view({2, 2});
    const at::Tensor loss = hl::rhythm_loss(prediction, target, defined);  // (0.25 + 0 + 1) / 3
    EXPECT_NEAR(loss.item<double>(), 1.25 / 3, 1e-6);
    loss.backward();
    EXPECT_TRUE(at::isfinite(prediction.grad()).all().item<bool>());
    EXPECT_NEAR(prediction.grad()[0][1].item<double>(), 0.0, 1e-9);  // no target, no gradient
}

TEST(HeartLangLosses, CodePerplexityCountsEquallyUsedWords) {
    const auto codes = [](std::vector<std::int64_t> v) { return at::tensor(v); };
    EXPECT_NEAR(hl::code_perplexity(codes({0, 0, 1, 1}), 4).item<double>(), 2.0, 1e-6);
    EXPECT_NEAR(hl::code_perplexity(codes({2, 2, 2}), 4).item<double>(), 1.0, 1e-6);
    // shares 1/2, 1/4, 1/4: entropy 1.5 ln 2, perplexity 2^1.5
    EXPECT_NEAR(hl::code_perplexity(codes({3, 3, 0, 1}), 4).item<double>(), std::pow(2.0, 1.5), 1e-5);
    EXPECT_EQ(hl::code_perplexity(at::empty({0}, at::kLong), 4).item<double>(), 0.0);
}

TEST(HeartLangVq, QuantiseIsStraightThroughWithTheHandComputedCommitment) {
    // z0 = (1, 0) is code 1 exactly; z1 = (0.6, 0.8) is nearer code 0 = (0, 1) (cosine 0.8 vs 0.6).
    const at::Tensor z = rows({{1, 0}, {0.6f, 0.8f}}).requires_grad_(true);
    const at::Tensor codebook = rows({{0, 1}, {1, 0}});
    const hl::Quantised q = hl::quantise(z, codebook, 0.25);
    EXPECT_TRUE(at::equal(q.codes, at::tensor(std::vector<std::int64_t>{1, 0})));
    EXPECT_TRUE(at::allclose(q.quantised, rows({{1, 0}, {0, 1}})));
    // 0.25 · mean(0, 0.6² + 0.2²) = 0.05
    EXPECT_NEAR(q.commitment.item<double>(), 0.05, 1e-6);
    // The decoder's gradient reaches z unchanged; the commitment's is 2β(z − q) / P.
    const at::Tensor w = rows({{1, 2}, {3, 4}});
    ((q.quantised * w).sum() + q.commitment).backward();
    EXPECT_TRUE(at::allclose(z.grad(), w + rows({{0, 0}, {0.15f, -0.05f}}), 1e-5, 1e-6)) << z.grad();
}

TEST(HeartLangVq, EmaMovesOnlyChosenCodesTowardTheirVectors) {
    const at::Tensor codebook = rows({{1, 0}, {0, 1}, {-1, 0}});
    const at::Tensor z = rows({{0.6f, 0.8f}, {0.8f, 0.6f}});
    const at::Tensor codes = at::tensor(std::vector<std::int64_t>{0, 0});
    // decay 0.5: 0.5 (1, 0) + 0.5 (0.7, 0.7) = (0.85, 0.35), normalised by √0.845.
    const at::Tensor next = hl::ema_codebook(codebook, z, codes, 0.5);
    const double norm = std::sqrt(0.845);
    EXPECT_NEAR(next[0][0].item<double>(), 0.85 / norm, 1e-6);
    EXPECT_NEAR(next[0][1].item<double>(), 0.35 / norm, 1e-6);
    EXPECT_TRUE(at::equal(next.narrow(0, 1, 2), codebook.narrow(0, 1, 2)));
}

TEST(HeartLangVq, FitNeverGivesTwoShapesOneCodeAndReconstructsThem) {
    // Four beat shapes of 16 samples (a spike at 2, 6, 10 or 14), 100 noisy copies each.
    at::manual_seed(0);
    const std::int64_t window = 16;
    at::Tensor words = at::zeros({400, window});
    for (std::int64_t i = 0; i < 400; ++i) words[i][2 + 4 * (i % 4)] = 1.0f;
    words += 0.02 * at::randn({400, window});
    hl::VqOptions options;
    options.codes = 8;
    options.steps = 300;
    options.batch = 64;
    hl::VqTokenizer tokenizer(window, options);
    const hl::VqFit fit = tokenizer->fit(words);
    const at::Tensor codes = tokenizer->codes(words);
    std::map<std::int64_t, std::int64_t> shape_of_code;
    for (std::int64_t i = 0; i < 400; ++i) {
        const auto [it, inserted] = shape_of_code.emplace(codes[i].item<std::int64_t>(), i % 4);
        EXPECT_EQ(it->second, i % 4) << "code " << it->first << " holds shapes " << it->second << " and " << i % 4;
    }
    EXPECT_GE(fit.perplexity, 3.99);  // at least the four shapes' worth of words in use
    EXPECT_GE(fit.used_share, 0.5);
    EXPECT_LT(fit.reconstruction_mse, 0.1) << "words scaled to unit variance";
}

// The plugin on 3-lead pulse trains of 5 s at 100 Hz: records alternate two morphologies (lead gains)
// and heart rates; record r has period 60 + 5 · (r mod 7) samples.
constexpr std::int64_t kLeads = 3, kSamples = 500;

ecgbench::EcgSplit pulse_split(std::int64_t n) {
    ecgbench::EcgSplit s;
    s.signals = at::zeros({n, kLeads, kSamples});
    for (std::int64_t r = 0; r < n; ++r) {
        const auto peaks = every(30 + r % 11, 60 + 5 * (r % 7), kSamples);
        for (std::int64_t l = 0; l < kLeads; ++l) {
            const float gain = r % 2 ? 1.0f - 0.6f * static_cast<float>(l) : 0.5f + 0.5f * static_cast<float>(l);
            const auto lead = pulse_train(kSamples, peaks, gain, r % 2 ? 0.25f : -0.4f);
            s.signals[r][l].copy_(at::tensor(lead));
        }
    }
    s.signals += 0.01 * at::randn({n, kLeads, kSamples});
    s.lead_present = at::ones({n, kLeads}, at::kBool);
    s.labels = at::zeros({n, 0});
    s.subjects = at::arange(n, at::kLong);
    for (std::int64_t r = 0; r < n; ++r) s.record_ids.push_back("p" + std::to_string(r));
    return s;
}

ecgbench::Batch as_batch(const ecgbench::EcgSplit& s) {
    ecgbench::Batch b;
    b.signals = s.signals;
    b.lead_present = s.lead_present;
    b.labels = s.labels;
    b.subjects = s.subjects;
    b.rows = at::arange(s.size(), at::kLong);
    return b;
}

const std::map<std::string, ecgbench::ParamValue> kSmall = {
    {"vocabulary_size", std::int64_t{8}}, {"width", std::int64_t{32}}, {"depth", std::int64_t{1}}, {"heads", std::int64_t{2}}};

ecgbench::PretrainContext context_for(ecgbench::Encoder& encoder, const ecgbench::EcgSplit& data, std::int64_t total_steps) {
    ecgbench::PretrainContext ctx = pretrain_context(encoder, kLeads, kSamples);
    ctx.input.lead_names = {"I", "II", "III"};
    ctx.data = &data;
    ctx.total_steps = total_steps;
    return ctx;
}

double term(const ecgbench::Loss& loss, const std::string& name) { return loss.terms.at(name).item<double>(); }

TEST(HeartLangMethod, VocabularyRoundTripsThroughACheckpoint) {
    at::manual_seed(0);
    const auto data = pulse_split(12);
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto method = make_method("heartlang", kSmall);
    method->setup(*encoder, context_for(*encoder, data, 20));
    const at::Tensor fitted = method->named_buffers()["vocabulary"];
    ASSERT_EQ(fitted.sizes(), (std::vector<std::int64_t>{8, 96}));
    EXPECT_GT(fitted.abs().max().item<float>(), 0.1f) << "the vocabulary was not fitted";

    const auto path = std::filesystem::temp_directory_path() / "ecgbench_heartlang_vocabulary.pt";
    ecgbench::save_checkpoint(*encoder, method.get(), path.string());
    auto again = make_method("heartlang", kSmall);
    again->setup(*encoder, context_for(*encoder, data, 0));  // as EvalContext::pretrained_method: fits nothing
    EXPECT_EQ(again->named_buffers()["vocabulary"].abs().max().item<float>(), 0.0f);
    ASSERT_TRUE(ecgbench::load_method(*again, path.string()));
    EXPECT_TRUE(at::equal(again->named_buffers()["vocabulary"], fitted));
    std::filesystem::remove(path);
}

TEST(HeartLangMethod, VqVocabularyIsFittedFrozenAndRoundTripsThroughACheckpoint) {
    at::manual_seed(0);
    const auto data = pulse_split(12);
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto params = kSmall;
    params["vocabulary"] = std::string("vq");
    params["vq_steps"] = std::int64_t{50};
    auto method = make_method("heartlang", params);
    method->setup(*encoder, context_for(*encoder, data, 20));
    EXPECT_EQ(method->named_buffers().find("vocabulary"), nullptr);
    const at::Tensor codebook = method->named_buffers()["tokenizer.codebook"].clone();
    ASSERT_EQ(codebook.sizes(), (std::vector<std::int64_t>{8, 32}));
    EXPECT_NEAR(codebook.norm(2, 1).min().item<double>(), 1.0, 1e-5) << "unit codes";
    for (const auto& p : method->named_parameters())
        if (p.key().rfind("tokenizer.", 0) == 0) EXPECT_FALSE(p.value().requires_grad()) << p.key() << " would be optimised";
    const auto loss = method->loss(*encoder, as_batch(data));
    EXPECT_GE(term(loss, "code_perplexity"), 1.0);
    EXPECT_TRUE(std::isfinite(loss.total.item<double>()));

    const auto path = std::filesystem::temp_directory_path() / "ecgbench_heartlang_vq.pt";
    ecgbench::save_checkpoint(*encoder, method.get(), path.string());
    auto again = make_method("heartlang", params);
    again->setup(*encoder, context_for(*encoder, data, 0));
    ASSERT_TRUE(ecgbench::load_method(*again, path.string()));
    EXPECT_TRUE(at::equal(again->named_buffers()["tokenizer.codebook"], codebook));
    std::filesystem::remove(path);
}

TEST(HeartLangMethod, LossFallsOnAFixedBatch) {
    at::manual_seed(0);
    const auto data = pulse_split(16);
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto method = make_method("heartlang", kSmall);
    method->setup(*encoder, context_for(*encoder, data, 40));
    const auto batch = as_batch(data);
    const auto first = method->loss(*encoder, batch);
    EXPECT_EQ(term(first, "skipped_share"), 0.0);
    EXPECT_NEAR(term(first, "beats"), 6.5, 1.5);  // 5 s at 0.6–0.9 s per beat
    const auto losses = train_on_batch(*method, *encoder, batch, 40);
    for (double l : losses) ASSERT_TRUE(std::isfinite(l));
    EXPECT_LT(mean_of(losses, 35, 40), 0.7 * mean_of(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
}

TEST(HeartLangMethod, HidesAtLeastOneBeatAndNeverAll) {
    at::manual_seed(0);
    const auto data = pulse_split(8);
    const auto encoder = resnet_xs(kLeads, kSamples);
    const auto batch = as_batch(data);
    for (const double ratio : {0.05, 0.95}) {
        auto small = kSmall;
        small["mask_ratio"] = ratio;
        auto method = make_method("heartlang", small);
        method->setup(*encoder, context_for(*encoder, data, 10));
        const auto loss = method->loss(*encoder, batch);
        ASSERT_EQ(term(loss, "skipped_share"), 0.0);
        // 6–8 beats per record: ⌊0.05 n⌉ = 0 becomes 1 hidden per record, ⌊0.95 n⌉ = n becomes n − 1,
        // so hidden beats / all beats = 1 / mean beats, or 1 − 1 / mean beats.
        const double per_record = term(loss, "beats");
        EXPECT_NEAR(term(loss, "hidden_share"), ratio < 0.5 ? 1 / per_record : 1 - 1 / per_record, 1e-6) << ratio;
    }
}

TEST(HeartLangMethod, PoolsThePerLeadTokensOfAPatchEncoder) {
    // vit1d's tokens read one lead each (token_spans): a beat pools the patches of present leads it overlaps.
    at::manual_seed(0);
    const auto data = pulse_split(8);
    const auto& spec = registry().require("vit1d", ecgbench::PluginKind::Encoder).manifest().params;
    const auto vit = registry().make_encoder(
        "vit1d", ecgbench::validate_params(spec, {{"size", std::string("XS")}, {"patch_size", std::int64_t{20}}}),
        encoder_input(kLeads, kSamples));
    auto method = make_method("heartlang", kSmall);
    method->setup(*vit, context_for(*vit, data, 10));
    auto batch = as_batch(data);
    batch.lead_present = batch.lead_present.clone();
    batch.lead_present[2][1] = false;
    batch.signals = batch.signals.clone();
    batch.signals[2][1].zero_();
    const auto losses = train_on_batch(*method, *vit, batch, 3);
    for (double l : losses) EXPECT_TRUE(std::isfinite(l));
}

TEST(HeartLangMethod, RecordsWithTooFewBeatsAreSkippedAndCounted) {
    at::manual_seed(0);
    const auto data = pulse_split(8);
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto method = make_method("heartlang", kSmall);
    method->setup(*encoder, context_for(*encoder, data, 10));
    auto batch = as_batch(data);
    batch.signals = batch.signals.clone();
    batch.signals[1].zero_();  // flat: no beat
    batch.signals[6].zero_();
    const auto loss = method->loss(*encoder, batch);
    EXPECT_NEAR(term(loss, "skipped_share"), 0.25, 1e-9);
    EXPECT_GT(loss.total.item<double>(), 0.0);
    // Lead I absent (zeroed and marked): the detector falls back to the present leads.
    batch.lead_present = batch.lead_present.clone();
    batch.lead_present.select(1, 0).fill_(false);
    batch.signals.select(1, 0).zero_();
    EXPECT_NEAR(term(method->loss(*encoder, batch), "skipped_share"), 0.25, 1e-9);
    batch.signals.zero_();  // nothing left to score: a zero loss that still back-propagates
    const auto none = method->loss(*encoder, batch);
    EXPECT_EQ(term(none, "skipped_share"), 1.0);
    EXPECT_EQ(none.total.item<double>(), 0.0);
    none.total.backward();
}

TEST(HeartLangMethod, ADetectionLeadTheDataLacksIsAnError) {
    const auto data = pulse_split(4);
    const auto encoder = resnet_xs(kLeads, kSamples);
    auto method = make_method("heartlang", {{"detection_lead", std::string("V1")}});
    try {
        method->setup(*encoder, context_for(*encoder, data, 10));
        ADD_FAILURE() << "lead V1 is not in the data";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("'V1'"), std::string::npos) << e.what();
    }
}

}  // namespace
