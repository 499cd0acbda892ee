#include "common/tokenizer.hpp"

#include "ecgbench/sha256.hpp"

#include <dlfcn.h>

#include <stdexcept>
#include <utility>

namespace ecgbench::text {
namespace {

// The shim's C entry points (sentencepiece_shim.cpp), resolved once.
struct Shim {
    int (*train)(const char* const*, std::size_t, const char* const*, const char* const*, std::size_t, char**, std::size_t*, char**);
    void* (*load)(const char*, std::size_t, char**);
    int (*encode)(void*, const char*, std::size_t, int**, std::size_t*, char**);
    int (*decode)(void*, const int*, std::size_t, char**, char**);
    int (*pieces)(void*);
    int (*pad_id)(void*);
    void (*release)(void*);
    void (*free)(void*);
};

template <typename F>
void resolve(void* library, const char* name, F& f) {
    f = reinterpret_cast<F>(dlsym(library, name));
    if (!f) throw std::runtime_error(std::string("tokenizer: libecgbench_sentencepiece.so lacks ") + name);
}

const Shim& shim() {
    static const Shim loaded = [] {
        // Deep binding: SentencePiece's protobuf-lite must not bind to LibTorch's libprotobuf.
        void* library = dlopen("libecgbench_sentencepiece.so", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (!library) throw std::runtime_error(std::string("tokenizer: cannot load SentencePiece: ") + dlerror());
        Shim s{};
        resolve(library, "ecgbench_spm_train", s.train);
        resolve(library, "ecgbench_spm_load", s.load);
        resolve(library, "ecgbench_spm_encode", s.encode);
        resolve(library, "ecgbench_spm_decode", s.decode);
        resolve(library, "ecgbench_spm_pieces", s.pieces);
        resolve(library, "ecgbench_spm_pad_id", s.pad_id);
        resolve(library, "ecgbench_spm_release", s.release);
        resolve(library, "ecgbench_spm_free", s.free);
        return s;
    }();
    return loaded;
}

// Takes ownership of a message the shim allocated.
std::string message(char* error) {
    std::string text = error ? error : "unknown error";
    shim().free(error);
    return text;
}

bool blank(const std::string& text) { return text.find_first_not_of(" \t\r\n") == std::string::npos; }

}  // namespace

Tokenizer::Tokenizer(std::string model, std::shared_ptr<void> processor)
    : model_(std::move(model)), sha256_(sha256_hex(model_)), processor_(std::move(processor)) {}

Tokenizer Tokenizer::train(const std::vector<std::string>& texts, const TokenizerOptions& options) {
    if (options.model_type != "unigram" && options.model_type != "bpe")
        throw std::invalid_argument("tokenizer: model type must be unigram or bpe, got '" + options.model_type + "'");
    if (options.vocab_size < 8) throw std::invalid_argument("tokenizer: vocab_size must be at least 8");
    std::vector<const char*> sentences;
    for (const auto& t : texts)
        if (!blank(t)) sentences.push_back(t.c_str());
    if (sentences.empty()) throw std::invalid_argument("tokenizer: no non-empty text to train on");
    // pad = 0 and unk = 1; no BOS/EOS (the encoder pools, it does not generate). hard_vocab_limit
    // off: vocab_size is an upper bound, a small corpus (the synthetic reports) yields fewer pieces.
    const std::string vocab = std::to_string(options.vocab_size);
    const std::pair<const char*, const char*> args[] = {
        {"model_type", options.model_type.c_str()}, {"vocab_size", vocab.c_str()},
        {"hard_vocab_limit", "false"},              {"character_coverage", "1.0"},
        {"normalization_rule_name", "nmt_nfkc_cf"}, {"pad_id", "0"},
        {"unk_id", "1"},                            {"bos_id", "-1"},
        {"eos_id", "-1"},                           {"num_threads", "1"},
        {"shuffle_input_sentence", "false"},        {"input_sentence_size", "0"},
        {"minloglevel", "2"}};
    std::vector<const char*> keys, values;
    for (const auto& [key, value] : args) {
        keys.push_back(key);
        values.push_back(value);
    }
    char *model = nullptr, *error = nullptr;
    std::size_t size = 0;
    if (shim().train(sentences.data(), sentences.size(), keys.data(), values.data(), keys.size(), &model, &size, &error) != 0)
        throw std::runtime_error("tokenizer: SentencePiece training failed: " + message(error));
    std::string bytes(model, size);
    shim().free(model);
    return from_model(std::move(bytes));
}

Tokenizer Tokenizer::from_model(std::string model) {
    char* error = nullptr;
    void* processor = shim().load(model.data(), model.size(), &error);
    if (!processor) throw std::runtime_error("tokenizer: not a SentencePiece model: " + message(error));
    std::shared_ptr<void> owned(processor, [](void* p) { shim().release(p); });
    if (shim().pad_id(processor) != kPadId) throw std::runtime_error("tokenizer: the model's padding id is not 0");
    return Tokenizer(std::move(model), std::move(owned));
}

std::vector<int> Tokenizer::encode(std::string_view text) const {
    int* ids = nullptr;
    std::size_t count = 0;
    char* error = nullptr;
    if (shim().encode(processor_.get(), text.data(), text.size(), &ids, &count, &error) != 0)
        throw std::runtime_error("tokenizer: cannot encode text: " + message(error));
    std::vector<int> out(ids, ids + count);
    shim().free(ids);
    return out;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
    char *text = nullptr, *error = nullptr;
    if (shim().decode(processor_.get(), ids.data(), ids.size(), &text, &error) != 0)
        throw std::runtime_error("tokenizer: cannot decode ids: " + message(error));
    std::string out(text);
    shim().free(text);
    return out;
}

std::int64_t Tokenizer::pieces() const { return shim().pieces(processor_.get()); }

}  // namespace ecgbench::text
