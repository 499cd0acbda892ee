#include "common/tokenizer.hpp"

#include "util/sha256.hpp"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <stdexcept>
#include <unordered_map>

namespace ecgbench::text {
namespace {

// Feeds the non-empty texts to the trainer in their order (no sampling, no shuffling).
class TextIterator : public sentencepiece::SentenceIterator {
public:
    explicit TextIterator(const std::vector<std::string>& texts) : texts_(texts) { skip_empty(); }
    bool done() const override { return index_ >= texts_.size(); }
    void Next() override {
        ++index_;
        skip_empty();
    }
    const std::string& value() const override { return texts_[index_]; }
    sentencepiece::util::Status status() const override { return {}; }

private:
    void skip_empty() {
        while (index_ < texts_.size() && texts_[index_].find_first_not_of(" \t\r\n") == std::string::npos) ++index_;
    }
    const std::vector<std::string>& texts_;
    std::size_t index_ = 0;
};

}  // namespace

Tokenizer::Tokenizer(std::string model, std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor)
    : model_(std::move(model)), sha256_(sha256_hex(model_)), processor_(std::move(processor)) {}

Tokenizer Tokenizer::train(const std::vector<std::string>& texts, const TokenizerOptions& options) {
    if (options.model_type != "unigram" && options.model_type != "bpe")
        throw std::invalid_argument("tokenizer: model type must be unigram or bpe, got '" + options.model_type + "'");
    if (options.vocab_size < 8) throw std::invalid_argument("tokenizer: vocab_size must be at least 8");
    TextIterator sentences(texts);
    if (sentences.done()) throw std::invalid_argument("tokenizer: no non-empty text to train on");
    // pad = 0 and unk = 1; no BOS/EOS (the encoder pools, it does not generate). hard_vocab_limit
    // off: vocab_size is an upper bound, a small corpus (the synthetic reports) yields fewer pieces.
    const std::unordered_map<std::string, std::string> args{
        {"model_type", options.model_type},    {"vocab_size", std::to_string(options.vocab_size)},
        {"hard_vocab_limit", "false"},         {"character_coverage", "1.0"},
        {"normalization_rule_name", "nmt_nfkc_cf"},
        {"pad_id", "0"},                       {"unk_id", "1"},
        {"bos_id", "-1"},                      {"eos_id", "-1"},
        {"num_threads", "1"},                  {"shuffle_input_sentence", "false"},
        {"input_sentence_size", "0"},          {"minloglevel", "2"}};
    std::string model;
    const auto status = sentencepiece::SentencePieceTrainer::Train(args, &sentences, &model);
    if (!status.ok()) throw std::runtime_error("tokenizer: SentencePiece training failed: " + status.ToString());
    return from_model(std::move(model));
}

Tokenizer Tokenizer::from_model(std::string model) {
    auto processor = std::make_shared<sentencepiece::SentencePieceProcessor>();
    const auto status = processor->LoadFromSerializedProto(model);
    if (!status.ok()) throw std::runtime_error("tokenizer: not a SentencePiece model: " + status.ToString());
    if (processor->pad_id() != kPadId) throw std::runtime_error("tokenizer: the model's padding id is not 0");
    return Tokenizer(std::move(model), std::move(processor));
}

std::vector<int> Tokenizer::encode(std::string_view text) const {
    std::vector<int> ids;
    const auto status = processor_->Encode(text, &ids);
    if (!status.ok()) throw std::runtime_error("tokenizer: cannot encode text: " + status.ToString());
    return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
    std::string text;
    const auto status = processor_->Decode(ids, &text);
    if (!status.ok()) throw std::runtime_error("tokenizer: cannot decode ids: " + status.ToString());
    return text;
}

std::int64_t Tokenizer::pieces() const { return processor_->GetPieceSize(); }

}  // namespace ecgbench::text
