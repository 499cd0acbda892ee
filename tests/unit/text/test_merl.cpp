// The `merl` method as the host loads it: its loss terms, what records without a report do, its
// text tower reached through ecgbench::TextTower, and its tokenizer surviving the checkpoint (and
// being refused when the bytes do not match their recorded SHA-256).
#include "ecgbench/text.hpp"
#include "unit/plugins/ssl_method_support.hpp"
#include "unit/text/text_fixtures.hpp"

#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using test_support::fixed_batch;
using test_support::make_method;

constexpr std::int64_t kLeads = 2, kSamples = 250, kBatch = 6;

const auto& kSmall = text_fixtures::kSmallTower;
using text_fixtures::reports;

struct MerlUnderTest {
    ecgbench::EncoderPtr encoder = test_support::resnet_xs(kLeads, kSamples);
    std::shared_ptr<ecgbench::SslMethod> method = make_method("merl", kSmall);
    ecgbench::EcgSplit data;
    explicit MerlUnderTest(std::int64_t total_steps = 20) {
        data.texts = reports(60);
        auto ctx = test_support::pretrain_context(*encoder, kLeads, kSamples);
        ctx.has_texts = true;
        ctx.data = &data;
        ctx.total_steps = total_steps;
        torch::manual_seed(0);
        method->setup(*encoder, ctx);
    }
};

ecgbench::Batch batch_with(std::vector<std::string> texts) {
    ecgbench::Batch b = fixed_batch(static_cast<std::int64_t>(texts.size()), kLeads, kSamples);
    b.texts = std::move(texts);
    return b;
}

double term(const ecgbench::Loss& loss, const std::string& name) { return loss.terms.at(name).item<double>(); }

TEST(Merl, LossIsCrossModalPlusUniModalAndTrains) {
    MerlUnderTest s;
    const ecgbench::Batch batch = batch_with(reports(kBatch));
    const ecgbench::Loss loss = s.method->loss(*s.encoder, batch);
    EXPECT_NEAR(loss.total.item<double>(), term(loss, "cma") + term(loss, "uma"), 1e-5);
    EXPECT_GT(term(loss, "cma"), 0);
    EXPECT_GT(term(loss, "uma"), 0);
    EXPECT_DOUBLE_EQ(term(loss, "paired"), 1.0);
    const auto losses = test_support::train_on_batch(*s.method, *s.encoder, batch, 12);
    EXPECT_LT(test_support::mean_of(losses, 9, 12), test_support::mean_of(losses, 0, 3));
}

// A record without a report stays in UMA and leaves CMA; with fewer than two reports CMA is 0.
TEST(Merl, RecordsWithoutAReportOnlyTakePartInUniModalAlignment) {
    MerlUnderTest s;
    s.method->eval();  // no dropout: the UMA term is then the same for every text pattern
    const ecgbench::Loss all = s.method->loss(*s.encoder, batch_with(reports(4)));
    const ecgbench::Loss some = s.method->loss(*s.encoder, batch_with({"", "complete LBBB", " ", "Sinus rhythm. Normal ECG."}));
    const ecgbench::Loss one = s.method->loss(*s.encoder, batch_with({"", "complete LBBB", "", ""}));
    EXPECT_DOUBLE_EQ(term(some, "paired"), 0.5);
    EXPECT_GT(term(some, "cma"), 0);
    EXPECT_DOUBLE_EQ(term(one, "paired"), 0.25);
    EXPECT_DOUBLE_EQ(term(one, "cma"), 0.0);
    EXPECT_NEAR(term(one, "uma"), term(all, "uma"), 1e-6);
    EXPECT_NEAR(one.total.item<double>(), term(all, "uma"), 1e-6);
    ecgbench::Batch no_texts = fixed_batch(4, kLeads, kSamples);
    EXPECT_THROW(s.method->loss(*s.encoder, no_texts), std::invalid_argument);
}

TEST(Merl, TheTokenizerTravelsInTheCheckpointWithItsHash) {
    MerlUnderTest trained;
    auto* tower = dynamic_cast<ecgbench::TextTower*>(trained.method.get());
    ASSERT_NE(tower, nullptr) << "merl must offer its text tower to tasks";
    trained.method->eval();
    torch::NoGradGuard no_grad;
    const std::vector<std::string> prompts{"atrial fibrillation", "normal ECG"};
    const at::Tensor texts = tower->embed_texts(prompts);
    EXPECT_EQ(texts.sizes(), (std::vector<std::int64_t>{2, 16}));
    const at::Tensor signals = tower->embed_signals(*trained.encoder, {fixed_batch(3, kLeads, kSamples).signals, {}, {}});
    EXPECT_EQ(signals.sizes(), (std::vector<std::int64_t>{3, 16}));
    EXPECT_NE(tower->text_identity().find("sentencepiece unigram"), std::string::npos) << tower->text_identity();

    torch::serialize::OutputArchive archive;
    trained.method->save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    auto load = [&](const std::string& data) {
        MerlUnderTest rebuilt(/*total_steps=*/0);  // as the host rebuilds a method for an evaluation: nothing fitted
        torch::serialize::InputArchive in;
        in.load_from(data.data(), data.size());
        rebuilt.method->load(in);
        rebuilt.method->eval();
        return rebuilt;
    };
    MerlUnderTest rebuilt = load(bytes.str());
    auto* again = dynamic_cast<ecgbench::TextTower*>(rebuilt.method.get());
    EXPECT_EQ(again->text_identity(), tower->text_identity());
    EXPECT_TRUE(at::equal(again->embed_texts(prompts), texts));

    // Flip one byte of the recorded hash: the tokenizer is refused, naming both hashes.
    at::Tensor digest = trained.method->named_buffers()["tokenizer_sha256"];
    digest[0].fill_(digest[0].item<std::int64_t>() ^ 1);
    torch::serialize::OutputArchive damaged;
    trained.method->save(damaged);
    std::ostringstream damaged_bytes;
    damaged.save_to(damaged_bytes);
    MerlUnderTest refused = load(damaged_bytes.str());
    try {
        dynamic_cast<ecgbench::TextTower*>(refused.method.get())->embed_texts(prompts);
        FAIL() << "a tokenizer whose bytes do not match their recorded sha256 was used";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("recorded sha256"), std::string::npos) << e.what();
    }
}

}  // namespace
