// A SentencePiece tokenizer trained on report texts (Kudo & Richardson 2018; Debian's
// libsentencepiece), held as its serialised model so a method can keep it in its checkpointed state
// and rebuild it bit for bit. Text is NFKC-normalised and case-folded ("nmt_nfkc_cf"): machine
// reports mix upper and lower case. Training is deterministic (one thread, input in the given order).
// SentencePiece runs inside libecgbench_sentencepiece.so, opened with deep binding (see
// sentencepiece_shim.cpp for why), found beside libecgbench_api.so through the caller's run path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ecgbench::text {

struct TokenizerOptions {
    std::string model_type = "unigram";  ///< "unigram" or "bpe"
    std::int64_t vocab_size = 2000;      ///< upper bound: a small corpus yields fewer pieces
};

class Tokenizer {
public:
    /// Trains on the non-empty entries of `texts`; std::invalid_argument when there are none or the
    /// options are invalid, std::runtime_error with SentencePiece's message when training fails.
    static Tokenizer train(const std::vector<std::string>& texts, const TokenizerOptions& options);
    /// Rebuilds a tokenizer from model() bytes; std::runtime_error when they are not a model.
    static Tokenizer from_model(std::string model);

    /// Piece ids of `text` (empty for an empty or blank text).
    std::vector<int> encode(std::string_view text) const;
    /// Text of piece ids (the normalised, case-folded form of what was encoded).
    std::string decode(const std::vector<int>& ids) const;
    /// Pieces in the vocabulary, padding included (ids are < pieces()).
    std::int64_t pieces() const;
    /// Id of the padding piece (0), never produced by encode().
    static constexpr int kPadId = 0;

    /// The serialised SentencePiece model.
    const std::string& model() const { return model_; }
    /// Hex SHA-256 of model().
    const std::string& sha256() const { return sha256_; }

private:
    Tokenizer(std::string model, std::shared_ptr<void> processor);
    std::string model_;
    std::string sha256_;
    std::shared_ptr<void> processor_;  ///< a SentencePieceProcessor inside libecgbench_sentencepiece.so
};

}  // namespace ecgbench::text
