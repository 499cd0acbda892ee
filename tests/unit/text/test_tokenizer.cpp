// The ECG–text methods' text side (plugins/ssl/common): the SentencePiece tokenizer (round trip,
// case folding, deterministic training, rebuilding from its model bytes) and the transformer text
// encoder (padding does not change a text's embedding).
#include "common/text_encoder.hpp"
#include "common/tokenizer.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::text::TextEncoderOptions;
using ecgbench::text::TextTransformer;
using ecgbench::text::Tokenizer;
using ecgbench::text::TokenizerOptions;

// Reports in the synthetic cohort's style, and German ones as PTB-XL's.
std::vector<std::string> corpus() {
    const std::vector<std::string> rhythm{"sinus rhythm", "atrial fibrillation", "sinus bradycardia", "sinusrhythmus"};
    const std::vector<std::string> finding{"left ventricular hypertrophy", "t wave inversion", "first degree av block",
                                           "normal ecg", "linkstyp", "periphere niederspannung", "qrs(t) abnormal"};
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < 200; ++i)
        texts.push_back(rhythm[i % rhythm.size()] + ". " + finding[(i * 3) % finding.size()] + " rate " + std::to_string(40 + i % 90));
    texts.push_back("");  // a missing report: skipped
    return texts;
}

TEST(Tokenizer, RoundTripsNormalisedText) {
    const Tokenizer t = Tokenizer::train(corpus(), {"unigram", 200});
    for (const std::string text : {"sinus rhythm. t wave inversion rate 75", "sinusrhythmus. periphere niederspannung"}) {
        const auto ids = t.encode(text);
        ASSERT_FALSE(ids.empty());
        for (int id : ids) {
            EXPECT_GT(id, Tokenizer::kPadId);
            EXPECT_LT(id, t.pieces());
        }
        EXPECT_EQ(t.decode(ids), text);
    }
    EXPECT_EQ(t.encode("SINUS RHYTHM"), t.encode("sinus rhythm")) << "reports are case-folded";
    EXPECT_TRUE(t.encode("").empty());
    EXPECT_LE(t.pieces(), 200);
}

TEST(Tokenizer, TrainingIsDeterministicAndTheModelRebuildsIt) {
    for (const std::string type : {"unigram", "bpe"}) {
        const Tokenizer a = Tokenizer::train(corpus(), {type, 150}), b = Tokenizer::train(corpus(), {type, 150});
        EXPECT_EQ(a.model(), b.model()) << type;
        EXPECT_EQ(a.sha256(), b.sha256()) << type;
        EXPECT_EQ(a.sha256().size(), 64u);
        const Tokenizer c = Tokenizer::from_model(a.model());
        EXPECT_EQ(c.sha256(), a.sha256());
        EXPECT_EQ(c.encode("atrial fibrillation. normal ecg"), a.encode("atrial fibrillation. normal ecg")) << type;
    }
    EXPECT_NE(Tokenizer::train(corpus(), {"unigram", 150}).model(), Tokenizer::train(corpus(), {"bpe", 150}).model());
}

TEST(Tokenizer, RejectsWhatItCannotUse) {
    EXPECT_THROW(Tokenizer::train({"", " "}, {}), std::invalid_argument);
    EXPECT_THROW(Tokenizer::train(corpus(), {"wordpiece", 100}), std::invalid_argument);
    EXPECT_THROW(Tokenizer::from_model("not a model"), std::runtime_error);
}

TEST(TextEncoder, PaddingDoesNotChangeAnEmbedding) {
    const Tokenizer t = Tokenizer::train(corpus(), {"unigram", 200});
    torch::manual_seed(0);
    TextEncoderOptions options;
    options.vocab_size = 200;
    options.width = 32;
    options.heads = 4;
    options.max_tokens = 16;
    TextTransformer encoder(options);
    encoder.eval();
    torch::NoGradGuard no_grad;
    const at::Tensor ids = ecgbench::text::token_ids(t, {"afib", "sinus rhythm. left ventricular hypertrophy rate 88"}, 16);
    ASSERT_EQ(ids.size(0), 2);
    EXPECT_GT(ids.size(1), t.encode("afib").size()) << "the short text is padded";
    const at::Tensor together = encoder.forward(ids);
    const at::Tensor alone = encoder.forward(ecgbench::text::token_ids(t, {"afib"}, 16));
    EXPECT_EQ(together.sizes(), (std::vector<std::int64_t>{2, 32}));
    EXPECT_TRUE(at::allclose(together[0], alone[0], 1e-5, 1e-5));
    // Cut to max_tokens, and a text without tokens is refused.
    EXPECT_EQ(ecgbench::text::token_ids(t, {corpus()[0] + " " + corpus()[1] + " " + corpus()[2]}, 4).size(1), 4);
    EXPECT_THROW(encoder.forward(ecgbench::text::token_ids(t, {"afib", ""}, 16)), std::invalid_argument);
}

}  // namespace
