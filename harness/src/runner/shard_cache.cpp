#include "runner/shard_cache.hpp"

#include "util/json.hpp"
#include "util/sha256.hpp"

#include <ATen/ATen.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace ecgbench {
namespace {

namespace fs = std::filesystem;
constexpr const char* kMagic = "ecgbench-shard 1";

std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else out += c;
    }
    return out;
}

std::string unescape(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        const char next = text[++i];
        out += next == 'n' ? '\n' : next == 'r' ? '\r' : next;
    }
    return out;
}

void write_tensor(const fs::path& file, const at::Tensor& tensor) {
    const at::Tensor t = tensor.contiguous();
    std::ofstream out(file, std::ios::binary);
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
    if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
}

at::Tensor read_tensor(const fs::path& file, at::IntArrayRef sizes, at::ScalarType type) {
    at::Tensor t = at::empty(sizes, type);
    const auto bytes = static_cast<std::uintmax_t>(t.numel() * t.element_size());
    std::error_code error;
    if (fs::file_size(file, error) != bytes || error)
        throw std::runtime_error("cache shard file " + file.string() + " has the wrong size (expected " + std::to_string(bytes) +
                                 " bytes); delete the shard directory to rebuild it");
    std::ifstream in(file, std::ios::binary);
    in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes));
    if (!in) throw std::runtime_error("cannot read cache shard file " + file.string());
    return t;
}

/// float32 [n, leads, samples] mapped from `file`, private copy-on-write: writes never reach the file.
at::Tensor map_signals(const fs::path& file, std::int64_t n, std::int64_t leads, std::int64_t samples) {
    const auto bytes = static_cast<std::size_t>(n * leads * samples) * sizeof(float);
    const int fd = ::open(file.c_str(), O_RDONLY);
    if (fd < 0) throw std::runtime_error("cannot open cache shard file " + file.string());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) != bytes) {
        ::close(fd);
        throw std::runtime_error("cache shard file " + file.string() + " has the wrong size; delete the shard directory to rebuild it");
    }
    void* data = bytes ? ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) : nullptr;
    ::close(fd);  // the mapping keeps the file alive
    if (data == MAP_FAILED) throw std::runtime_error("cannot memory-map cache shard file " + file.string());
    return at::from_blob(data, {n, leads, samples}, [bytes](void* p) { if (p) ::munmap(p, bytes); }, at::kFloat);
}

}  // namespace

std::string shard_key(const std::string& dataset_fingerprint, const std::string& data_version,
                      const std::vector<std::string>& leads, const std::string& pipeline_json, Split split) {
    const std::string identity = json_object({{"format", json_string(kMagic)},
                                              {"fingerprint", json_string(dataset_fingerprint)},
                                              {"data_version", json_string(data_version)},
                                              {"leads", json_strings(leads)},
                                              {"preprocess", pipeline_json.empty() ? "[]" : pipeline_json},
                                              {"split", json_string(to_string(split))}});
    return sha256_hex(identity).substr(0, 24);
}

std::optional<EcgSplit> ShardCache::load(const std::string& key) const {
    const fs::path dir = root_ / key;
    const fs::path meta_file = dir / "meta.txt";
    if (!fs::exists(meta_file)) return std::nullopt;
    std::ifstream meta(meta_file);
    std::string line;
    std::int64_t n = 0, leads = 0, samples = 0, classes = 0, covariates = 0, ids = 0, texts = 0;
    if (!std::getline(meta, line) || line != kMagic || !(meta >> n >> leads >> samples >> classes >> covariates >> ids >> texts))
        throw std::runtime_error("cache shard " + meta_file.string() + " is not an ecgbench shard (version 1); delete it to rebuild");
    std::getline(meta, line);  // end of the sizes line
    std::vector<std::string> names(static_cast<std::size_t>(covariates));
    std::vector<std::string> record_ids(static_cast<std::size_t>(ids)), record_texts(static_cast<std::size_t>(texts));
    for (auto* list : {&names, &record_ids, &record_texts})
        for (auto& entry : *list) {
            if (!std::getline(meta, line)) throw std::runtime_error("cache shard " + meta_file.string() + " is truncated");
            entry = unescape(line);
        }
    EcgSplit split;
    split.signals = map_signals(dir / "signals.f32", n, leads, samples);
    split.lead_present = read_tensor(dir / "lead_present.u8", {n, leads}, at::kByte).to(at::kBool);
    split.labels = read_tensor(dir / "labels.f32", {n, classes}, at::kFloat);
    split.subjects = read_tensor(dir / "subjects.i64", {n}, at::kLong);
    const at::Tensor values = read_tensor(dir / "covariates.f32", {covariates, n}, at::kFloat);
    for (std::int64_t k = 0; k < covariates; ++k) split.covariates[names[static_cast<std::size_t>(k)]] = values[k];
    split.record_ids = std::move(record_ids);
    split.texts = std::move(record_texts);
    return split;
}

void ShardCache::store(const std::string& key, const EcgSplit& split) const {
    const fs::path target = root_ / key;
    if (fs::exists(target / "meta.txt")) return;
    fs::create_directories(root_);
    std::random_device random;
    const fs::path tmp = root_ / (key + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    fs::create_directories(tmp);
    try {
        const std::int64_t n = split.signals.size(0), leads = split.signals.size(1), samples = split.signals.size(2);
        write_tensor(tmp / "signals.f32", split.signals.to(at::kFloat));
        write_tensor(tmp / "lead_present.u8", split.lead_present.to(at::kByte));
        const at::Tensor labels = split.labels.defined() ? split.labels.to(at::kFloat) : at::zeros({n, 0});
        write_tensor(tmp / "labels.f32", labels);
        write_tensor(tmp / "subjects.i64", split.subjects.to(at::kLong));
        std::vector<at::Tensor> values;
        for (const auto& [name, column] : split.covariates) values.push_back(column.to(at::kFloat).reshape({n}));
        write_tensor(tmp / "covariates.f32", values.empty() ? at::zeros({0, n}) : at::stack(values));
        std::ofstream meta(tmp / "meta.txt");
        meta << kMagic << "\n"
             << n << " " << leads << " " << samples << " " << labels.size(1) << " " << split.covariates.size() << " "
             << split.record_ids.size() << " " << split.texts.size() << "\n";
        for (const auto& [name, column] : split.covariates) meta << escape(name) << "\n";
        for (const auto& id : split.record_ids) meta << escape(id) << "\n";
        for (const auto& text : split.texts) meta << escape(text) << "\n";
        if (!meta.flush()) throw std::runtime_error("cannot write " + (tmp / "meta.txt").string());
        meta.close();
        std::error_code error;
        fs::rename(tmp, target, error);  // fails harmlessly when another process got there first
        if (error) fs::remove_all(tmp);
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(tmp, ignored);
        throw;
    }
}

}  // namespace ecgbench
