// The `melp` method (plugins/ssl/melp): FILIP's late-interaction similarities and loss (its token and
// beat levels) against hand-computed values, the report's sentences, and the plugin as the host
// loads it: the loss is the weighted sum of its rhythm, beat and token terms, the beat term sees the
// QRS detector's beats, records without a report leave every term, the text tower survives the
// checkpoint, and a TorchScript-free setting without token states is refused.
#include "../../../plugins/ssl/melp/multiscale.hpp"
#include "ecgbench/losses.hpp"
#include "ecgbench/text.hpp"
#include "unit/plugins/ssl_method_support.hpp"
#include "unit/text/text_fixtures.hpp"

#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::melp::late_interaction_loss;
using ecgbench::melp::late_interaction_similarities;
using ecgbench::melp::split_sentences;

at::Tensor grid(std::initializer_list<std::initializer_list<std::initializer_list<float>>> values) {
    std::vector<at::Tensor> rows;
    for (const auto& r : values) {
        std::vector<at::Tensor> elements;
        for (const auto& e : r) elements.push_back(at::tensor(std::vector<float>(e)));
        rows.push_back(at::stack(elements));
    }
    return at::stack(rows);
}

at::Tensor mask(std::initializer_list<std::initializer_list<bool>> values) {
    std::vector<at::Tensor> rows;
    for (const auto& r : values) {
        std::vector<std::int64_t> v(r.begin(), r.end());
        rows.push_back(at::tensor(v).to(at::kBool));
    }
    return at::stack(rows);
}

// Two records and two texts in 2-D (e1 = (1, 0), e2 = (0, 1) after normalisation):
//   ECG 0: e1, e2           ECG 1: e1 (given as (2, 0): normalised), (5, 5) masked out
//   text 0: e2 (as (0, 3)), (7, 7) masked out      text 1: e1, −e1
// ecg_to_text[i, k] = mean over i's elements of the best cosine with k's:
//   [0,0] = (0 + 1)/2 = 0.5   [0,1] = (1 + 0)/2 = 0.5   [1,0] = 0   [1,1] = 1
// text_to_ecg[i, k] = mean over k's elements of the best cosine with i's:
//   [0,0] = 1   [0,1] = (1 + 0)/2 = 0.5   [1,0] = 0   [1,1] = (1 + (−1))/2 = 0
struct TwoPairs {
    at::Tensor x = grid({{{1, 0}, {0, 1}}, {{2, 0}, {5, 5}}});
    at::Tensor xm = mask({{true, true}, {true, false}});
    at::Tensor y = grid({{{0, 3}, {7, 7}}, {{1, 0}, {-1, 0}}});
    at::Tensor ym = mask({{true, false}, {true, true}});
};

TEST(MelpLateInteraction, SimilaritiesByHand) {
    const TwoPairs p;
    const auto [e2t, t2e] = late_interaction_similarities(p.x, p.xm, p.y, p.ym);
    EXPECT_TRUE(at::allclose(e2t, at::tensor({0.5f, 0.5f, 0.0f, 1.0f}).view({2, 2}), 1e-6, 1e-6)) << e2t;
    EXPECT_TRUE(at::allclose(t2e, at::tensor({1.0f, 0.5f, 0.0f, 0.0f}).view({2, 2}), 1e-6, 1e-6)) << t2e;
}

// τ = 0.5 doubles the similarities. ECG → text, along rows of A = [[1, 1], [0, 2]]:
//   row 0: log(e + e) − 1 = log 2;  row 1: log(1 + e²) − 2
// text → ECG, along columns of T = [[2, 1], [0, 0]]:
//   column 0 = (2, 0) at 0: log(e² + 1) − 2;  column 1 = (1, 0) at 1: log(e + 1) − 0
TEST(MelpLateInteraction, LossByHandSumsBothDirections) {
    const TwoPairs p;
    const double e = std::exp(1.0);
    const double rows = (std::log(2.0) + std::log(1 + e * e) - 2) / 2;
    const double columns = (std::log(e * e + 1) - 2 + std::log(e + 1)) / 2;
    EXPECT_NEAR(late_interaction_loss(p.x, p.xm, p.y, p.ym, 0.5).item<double>(), rows + columns, 1e-6);  // 1.0846
}

// One valid element per row: both similarities are the cosine matrix, so the loss is CLIP's —
// whatever the masked-out elements hold.
TEST(MelpLateInteraction, OneElementPerRowIsClipLoss) {
    at::manual_seed(3);
    const at::Tensor x = at::randn({5, 3, 4}), y = at::randn({5, 2, 4});
    at::Tensor xm = at::zeros({5, 3}, at::kBool), ym = at::zeros({5, 2}, at::kBool);
    xm.select(1, 1).fill_(true);
    ym.select(1, 0).fill_(true);
    EXPECT_NEAR(late_interaction_loss(x, xm, y, ym, 0.07).item<double>(),
                ecgbench::clip_loss(x.select(1, 1), y.select(1, 0), 0.07).item<double>(), 1e-4);
}

TEST(MelpLateInteraction, RejectsRowsWithoutElementsAndBadShapes) {
    const TwoPairs p;
    EXPECT_THROW(late_interaction_loss(p.x, mask({{true, true}, {false, false}}), p.y, p.ym, 1.0), std::invalid_argument);
    EXPECT_THROW(late_interaction_loss(p.x, p.xm, p.y, p.ym, 0.0), std::invalid_argument);
    EXPECT_THROW(late_interaction_loss(p.x, p.xm, at::zeros({2, 2, 3}), p.ym, 1.0), std::invalid_argument);
}

TEST(MelpSentences, SplitAfterFullStopsSemicolonsAndLineBreaks) {
    EXPECT_EQ(split_sentences("Sinus rhythm. QRS 0.12 s; LVH.\nT wave inversion", 16),
              (std::vector<std::string>{"Sinus rhythm", "QRS 0.12 s", "LVH", "T wave inversion"}));
    EXPECT_EQ(split_sentences("Sinus rhythm. QRS 0.12 s; LVH.", 2), (std::vector<std::string>{"Sinus rhythm", "QRS 0.12 s"}));
    EXPECT_TRUE(split_sentences(" ; . ", 16).empty());
    EXPECT_TRUE(split_sentences("", 16).empty());
}

// ---- the plugin ----

using test_support::make_method;

constexpr std::int64_t kLeads = 2, kSamples = 500, kBatch = 6;

const auto& kSmall = text_fixtures::kSmallTower;
using text_fixtures::reports;

// Records of narrow pulses (QRS-like) with a T wave, in both leads at different gains: record i has
// a beat every 70 + 5i samples from sample 40, at 100 Hz.
ecgbench::Batch pulse_batch(std::vector<std::string> texts) {
    const auto b = static_cast<std::int64_t>(texts.size());
    ecgbench::Batch batch = test_support::fixed_batch(b, kLeads, kSamples);
    at::Tensor signals = at::zeros({b, kLeads, kSamples});
    auto s = signals.accessor<float, 3>();
    for (std::int64_t i = 0; i < b; ++i)
        for (std::int64_t r = 40; r < kSamples; r += 70 + 5 * i)
            for (std::int64_t t = 0; t < kSamples; ++t) {
                const double d = static_cast<double>(t - r), dt = static_cast<double>(t - r - 25);
                const auto v = static_cast<float>(std::exp(-d * d / 4.5) + 0.25 * std::exp(-dt * dt / 72.0));
                s[i][0][t] += v;
                s[i][1][t] += (0.5f + 0.1f * static_cast<float>(i)) * v;
            }
    batch.signals = signals;
    batch.texts = std::move(texts);
    return batch;
}

std::int64_t beats_in(std::int64_t i) {
    std::int64_t n = 0;
    for (std::int64_t r = 40; r < kSamples; r += 70 + 5 * i) ++n;
    return n;
}

// Seeded before the encoder is built, so two instances with the same parameters are equal.
struct MelpUnderTest {
    ecgbench::EncoderPtr encoder;
    std::shared_ptr<ecgbench::SslMethod> method;
    ecgbench::EcgSplit data;
    explicit MelpUnderTest(std::map<std::string, ecgbench::ParamValue> params = kSmall, std::int64_t total_steps = 20) {
        torch::manual_seed(0);
        encoder = test_support::resnet_xs(kLeads, kSamples);
        method = make_method("melp", params);
        data.texts = reports(60);
        auto ctx = test_support::pretrain_context(*encoder, kLeads, kSamples);
        ctx.input.lead_names = {"I", "II"};
        ctx.has_texts = true;
        ctx.data = &data;
        ctx.total_steps = total_steps;
        torch::manual_seed(0);
        method->setup(*encoder, ctx);
    }
};

double term(const ecgbench::Loss& loss, const std::string& name) { return loss.terms.at(name).item<double>(); }

TEST(Melp, LossIsTheWeightedSumOfItsThreeLevelsAndTrains) {
    auto params = kSmall;
    params["rhythm_weight"] = 1.0;
    params["beat_weight"] = 0.5;
    params["token_weight"] = 0.25;
    MelpUnderTest s(params);
    s.method->eval();  // dropout off: two calls see the same numbers
    const ecgbench::Batch batch = pulse_batch(reports(kBatch));
    const ecgbench::Loss loss = s.method->loss(*s.encoder, batch);
    for (const char* name : {"rhythm", "beat", "token"}) EXPECT_GT(term(loss, name), 0) << name;
    EXPECT_NEAR(loss.total.item<double>(), term(loss, "rhythm") + 0.5 * term(loss, "beat") + 0.25 * term(loss, "token"), 1e-5);
    EXPECT_DOUBLE_EQ(term(loss, "paired"), 1.0);
    EXPECT_DOUBLE_EQ(term(loss, "beat_pairs"), 1.0);
    // The detector finds every pulse; the six reports have 2, 2, 1, 2, 1, 2 sentences.
    double beats = 0;
    for (std::int64_t i = 0; i < kBatch; ++i) beats += static_cast<double>(beats_in(i));
    EXPECT_NEAR(term(loss, "beats"), beats / kBatch, 1e-6);  // stored as float
    EXPECT_NEAR(term(loss, "sentences"), 10.0 / 6.0, 1e-6);
    const auto losses = test_support::train_on_batch(*s.method, *s.encoder, batch, 12);
    EXPECT_LT(test_support::mean_of(losses, 9, 12), test_support::mean_of(losses, 0, 3));
}

// A level at weight 0 is not computed (its term is 0) and the others keep their values.
TEST(Melp, ALevelAtWeightZeroDropsOut) {
    auto rhythm_only = kSmall;
    rhythm_only["beat_weight"] = 0.0;
    rhythm_only["token_weight"] = 0.0;
    MelpUnderTest all, one(rhythm_only);
    all.method->eval();
    one.method->eval();
    const ecgbench::Batch batch = pulse_batch(reports(kBatch));
    const ecgbench::Loss a = all.method->loss(*all.encoder, batch), r = one.method->loss(*one.encoder, batch);
    EXPECT_DOUBLE_EQ(term(r, "beat"), 0.0);
    EXPECT_DOUBLE_EQ(term(r, "token"), 0.0);
    EXPECT_NEAR(term(r, "rhythm"), term(a, "rhythm"), 1e-6);  // same seed, same weights
    EXPECT_NEAR(r.total.item<double>(), term(r, "rhythm"), 1e-6);
}

TEST(Melp, RecordsWithoutAReportLeaveEveryTerm) {
    MelpUnderTest s;
    s.method->eval();
    const ecgbench::Loss some = s.method->loss(*s.encoder, pulse_batch({"", "complete LBBB", " ", "Sinus rhythm. Normal ECG."}));
    EXPECT_DOUBLE_EQ(term(some, "paired"), 0.5);
    EXPECT_DOUBLE_EQ(term(some, "beat_pairs"), 0.5);
    EXPECT_GT(term(some, "beat"), 0);
    const ecgbench::Loss one = s.method->loss(*s.encoder, pulse_batch({"", "complete LBBB", "", ""}));
    EXPECT_DOUBLE_EQ(one.total.item<double>(), 0.0);
    ecgbench::Batch no_texts = test_support::fixed_batch(4, kLeads, kSamples);
    EXPECT_THROW(s.method->loss(*s.encoder, no_texts), std::invalid_argument);
}

TEST(Melp, OffersItsTextTowerAndItSurvivesTheCheckpoint) {
    MelpUnderTest trained;
    auto* tower = dynamic_cast<ecgbench::TextTower*>(trained.method.get());
    ASSERT_NE(tower, nullptr) << "melp must offer its text tower to tasks";
    trained.method->eval();
    torch::NoGradGuard no_grad;
    const std::vector<std::string> prompts{"atrial fibrillation", "normal ECG"};
    const at::Tensor texts = tower->embed_texts(prompts);
    EXPECT_EQ(texts.sizes(), (std::vector<std::int64_t>{2, 16}));
    EXPECT_EQ(tower->embed_signals(*trained.encoder, {pulse_batch(reports(3)).signals, {}, {}}).sizes(),
              (std::vector<std::int64_t>{3, 16}));
    torch::serialize::OutputArchive archive;
    trained.method->save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    MelpUnderTest rebuilt(kSmall, /*total_steps=*/0);
    torch::serialize::InputArchive in;
    const std::string data = bytes.str();
    in.load_from(data.data(), data.size());
    rebuilt.method->load(in);
    rebuilt.method->eval();
    auto* again = dynamic_cast<ecgbench::TextTower*>(rebuilt.method.get());
    EXPECT_EQ(again->text_identity(), tower->text_identity());
    EXPECT_TRUE(at::equal(again->embed_texts(prompts), texts));
}

TEST(Melp, DetectionLeadTheDataLacksIsAnErrorNamingIt) {
    auto params = kSmall;
    params["detection_lead"] = std::string("V5");
    try {
        MelpUnderTest s(params);
        FAIL() << "a detection lead the data lacks was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("melp: param 'detection_lead' names lead 'V5'"), std::string::npos) << e.what();
    }
}

}  // namespace
