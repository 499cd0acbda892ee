// A C interface to SentencePiece, built as its own library (libecgbench_sentencepiece.so) and opened
// by the tokenizer with RTLD_DEEPBIND. Why: Debian's libsentencepiece carries its own protobuf-lite
// (3.14) and exports its symbols, while LibTorch loads libprotobuf 3.21 first; linked normally,
// SentencePiece's calls bind to LibTorch's protobuf and its version check aborts the process. Opened
// with deep binding, SentencePiece resolves protobuf to its own copy. Only C types cross this
// interface; strings and id arrays are malloc'd here and released with ecgbench_spm_free.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

char* copy_out(const std::string& s) {
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    if (out) std::memcpy(out, s.data(), s.size() + 1);
    return out;
}

class Sentences : public sentencepiece::SentenceIterator {
public:
    Sentences(const char* const* texts, std::size_t n) : texts_(texts), n_(n) { value_ = n_ ? texts_[0] : ""; }
    bool done() const override { return index_ >= n_; }
    void Next() override {
        if (++index_ < n_) value_ = texts_[index_];
    }
    const std::string& value() const override { return value_; }
    sentencepiece::util::Status status() const override { return {}; }

private:
    const char* const* texts_;
    std::size_t n_, index_ = 0;
    std::string value_;
};

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int ecgbench_spm_train(const char* const* texts, std::size_t n, const char* const* keys,
                                                              const char* const* values, std::size_t options, char** model,
                                                              std::size_t* model_size, char** error) {
    std::unordered_map<std::string, std::string> args;
    for (std::size_t i = 0; i < options; ++i) args[keys[i]] = values[i];
    Sentences sentences(texts, n);
    std::string serialised;
    const auto status = sentencepiece::SentencePieceTrainer::Train(args, &sentences, &serialised);
    if (!status.ok()) {
        *error = copy_out(status.ToString());
        return 1;
    }
    *model = static_cast<char*>(std::malloc(serialised.size()));
    std::memcpy(*model, serialised.data(), serialised.size());
    *model_size = serialised.size();
    return 0;
}

__attribute__((visibility("default"))) void* ecgbench_spm_load(const char* model, std::size_t size, char** error) {
    auto* processor = new sentencepiece::SentencePieceProcessor();
    const auto status = processor->LoadFromSerializedProto(std::string(model, size));
    if (!status.ok()) {
        *error = copy_out(status.ToString());
        delete processor;
        return nullptr;
    }
    return processor;
}

__attribute__((visibility("default"))) int ecgbench_spm_encode(void* handle, const char* text, std::size_t length, int** ids,
                                                               std::size_t* count, char** error) {
    std::vector<int> out;
    const auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(std::string(text, length), &out);
    if (!status.ok()) {
        *error = copy_out(status.ToString());
        return 1;
    }
    *ids = static_cast<int*>(std::malloc(std::max<std::size_t>(1, out.size()) * sizeof(int)));
    std::copy(out.begin(), out.end(), *ids);
    *count = out.size();
    return 0;
}

__attribute__((visibility("default"))) int ecgbench_spm_decode(void* handle, const int* ids, std::size_t count, char** text,
                                                               char** error) {
    std::string out;
    const auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Decode(std::vector<int>(ids, ids + count), &out);
    if (!status.ok()) {
        *error = copy_out(status.ToString());
        return 1;
    }
    *text = copy_out(out);
    return 0;
}

__attribute__((visibility("default"))) int ecgbench_spm_pieces(void* handle) {
    return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize();
}

__attribute__((visibility("default"))) int ecgbench_spm_pad_id(void* handle) {
    return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->pad_id();
}

__attribute__((visibility("default"))) void ecgbench_spm_release(void* handle) {
    delete static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

__attribute__((visibility("default"))) void ecgbench_spm_free(void* p) { std::free(p); }

}  // extern "C"
