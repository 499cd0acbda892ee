#include "runner/shard_cache.hpp"

#include "util/json.hpp"
#include "ecgbench/sha256.hpp"

#include <ATen/ATen.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace ecgbench {
namespace {

namespace fs = std::filesystem;
constexpr const char* kMagic = "ecgbench-shard 1";
constexpr const char* kManifest = "manifest.txt";
constexpr const char* kManifestMagic = "ecgbench-shard-manifest 1";
constexpr const char* kSignals = "signals.f32";
/// Every file of a shard but the manifest, in the order the manifest lists them.
constexpr const char* kFiles[] = {kSignals, "lead_present.u8", "labels.f32", "subjects.i64", "sources.i64", "covariates.f32", "meta.txt"};
/// The cheap check hashes this much of each end of signals.f32.
constexpr std::uintmax_t kEdge = std::uintmax_t{64} << 10;

struct ManifestEntry {
    std::string name;
    std::uintmax_t bytes = 0;
    std::string sha256, edges_sha256;
};

/// SHA-256 of bytes [0, min(size, 64 KiB)) followed by [max(64 KiB, size - 64 KiB), size): the
/// whole file when it is at most 128 KiB.
std::string edges_sha256(const fs::path& file, std::uintmax_t size) {
    std::ifstream in(file, std::ios::binary);
    Sha256 hasher;
    std::vector<char> buffer(kEdge);
    auto take = [&](std::uintmax_t from, std::uintmax_t count) {
        in.seekg(static_cast<std::streamoff>(from));
        in.read(buffer.data(), static_cast<std::streamsize>(count));
        if (!in || static_cast<std::uintmax_t>(in.gcount()) != count) throw std::runtime_error("cannot read " + file.string());
        hasher.update(buffer.data(), static_cast<std::size_t>(count));
    };
    take(0, std::min(size, kEdge));
    if (size > kEdge) {
        const std::uintmax_t from = std::max(kEdge, size - kEdge);
        take(from, size - from);
    }
    return hasher.hex_digest();
}

/// Reads <dir>/manifest.txt into `entries`; returns "" or what is wrong with it.
std::string read_manifest(const fs::path& dir, std::vector<ManifestEntry>& entries) {
    const fs::path file = dir / kManifest;
    std::ifstream in(file);
    if (!in) return std::string(kManifest) + " is missing (a shard built before shards carried content hashes, or damaged)";
    std::string line;
    if (!std::getline(in, line) || line != kManifestMagic) return std::string(kManifest) + " is not an ecgbench shard manifest (version 1)";
    ManifestEntry entry;
    while (in >> entry.name >> entry.bytes >> entry.sha256 >> entry.edges_sha256) entries.push_back(entry);
    if (!in.eof()) return std::string(kManifest) + " is malformed";
    for (const char* name : kFiles)
        if (std::count_if(entries.begin(), entries.end(), [&](const ManifestEntry& e) { return e.name == name; }) != 1)
            return std::string(kManifest) + " does not list " + name + " exactly once";
    if (entries.size() != std::size(kFiles)) return std::string(kManifest) + " lists files a shard does not have";
    return "";
}

/// Checks the shard in `dir` against its manifest: every file's size, and either every file's
/// SHA-256 (`full`) or that of every file but signals.f32 plus the signals' edges. "" when it
/// passes, else what is wrong (naming the file, relative to the shard).
std::string check_shard(const fs::path& dir, bool full) {
    std::vector<ManifestEntry> entries;
    if (auto problem = read_manifest(dir, entries); !problem.empty()) return problem;
    for (const auto& e : entries) {
        const fs::path file = dir / e.name;
        std::error_code error;
        const auto size = fs::file_size(file, error);
        if (error) return e.name + " is missing";
        if (size != e.bytes)
            return e.name + " has " + std::to_string(size) + " bytes, its manifest records " + std::to_string(e.bytes);
        try {
            if (full || e.name != kSignals) {
                const std::string actual = sha256_file(file.string());
                if (actual != e.sha256) return e.name + " has SHA-256 " + actual + ", its manifest records " + e.sha256;
            } else {
                const std::string actual = edges_sha256(file, size);
                if (actual != e.edges_sha256)
                    return e.name + ": its first and last 64 KiB have SHA-256 " + actual + ", its manifest records " + e.edges_sha256;
            }
        } catch (const std::exception& ex) {
            return ex.what();
        }
    }
    return "";
}

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

at::Tensor read_tensor(const fs::path& file, at::IntArrayRef sizes, at::ScalarType type) {
    at::Tensor t = at::empty(sizes, type);
    const auto bytes = static_cast<std::uintmax_t>(t.numel() * t.element_size());
    std::error_code error;
    if (fs::file_size(file, error) != bytes || error)
        throw ShardDamaged("cache shard file " + file.string() + " has the wrong size (expected " + std::to_string(bytes) +
                           " bytes); the shard is rebuilt on next use");
    std::ifstream in(file, std::ios::binary);
    in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes));
    if (!in) throw ShardDamaged("cannot read cache shard file " + file.string());
    return t;
}

/// float32 [n, leads, samples] mapped from `file`, private copy-on-write: writes never reach the file.
at::Tensor map_signals(const fs::path& file, std::int64_t n, std::int64_t leads, std::int64_t samples) {
    const auto bytes = static_cast<std::size_t>(n * leads * samples) * sizeof(float);
    const int fd = ::open(file.c_str(), O_RDONLY);
    if (fd < 0) throw ShardDamaged("cannot open cache shard file " + file.string());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) != bytes) {
        ::close(fd);
        throw ShardDamaged("cache shard file " + file.string() + " has the wrong size; the shard is rebuilt on next use");
    }
    // MAP_NORESERVE: a private writable mapping is otherwise charged in full against the
    // overcommit limit, and a shard larger than RAM could not be mapped at all. Pages are only
    // copied if someone writes to them, which the harness never does.
    void* data = bytes ? ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0) : nullptr;
    ::close(fd);  // the mapping keeps the file alive
    if (data == MAP_FAILED) throw std::runtime_error("cannot memory-map cache shard file " + file.string());
    // Batches draw records at random: no read-ahead around each fault (it read 5x the records
    // used when the shard exceeded RAM). The batch loader asks for each record's pages ahead.
    if (bytes) ::madvise(data, bytes, MADV_RANDOM);
    return at::from_blob(data, {n, leads, samples}, [bytes](void* p) { if (p) ::munmap(p, bytes); }, at::kFloat);
}

}  // namespace

std::string shard_key(const std::string& dataset_fingerprint, const std::string& data_version,
                      const std::vector<std::string>& leads, const nlohmann::json& pipeline, Split split) {
    const std::string identity = canonical_json({{"format", kMagic},
                                                 {"fingerprint", dataset_fingerprint},
                                                 {"data_version", data_version},
                                                 {"leads", leads},
                                                 {"preprocess", pipeline.is_null() ? Json::array() : pipeline},
                                                 {"split", to_string(split)}});
    return sha256_hex(identity).substr(0, 24);
}

std::optional<EcgSplit> ShardCache::load(const std::string& key) const {
    const fs::path dir = root_ / key;
    const fs::path meta_file = dir / "meta.txt";
    if (!fs::exists(dir)) return std::nullopt;
    // Never use a shard that does not match what was committed (a directory without meta.txt
    // included: it is no shard, but it blocks rebuilding one).
    if (const std::string problem = quick_check(key); !problem.empty())
        throw ShardDamaged("cache shard " + dir.string() + " is damaged: " + problem);
    std::ifstream meta(meta_file);
    std::string line;
    std::int64_t n = 0, leads = 0, samples = 0, classes = 0, covariates = 0, ids = 0, texts = 0;
    if (!std::getline(meta, line) || line != kMagic || !(meta >> n >> leads >> samples >> classes >> covariates >> ids >> texts))
        throw ShardDamaged("cache shard " + meta_file.string() + " is not an ecgbench shard (version 1)");
    std::getline(meta, line);  // end of the sizes line
    std::vector<std::string> names(static_cast<std::size_t>(covariates));
    std::vector<std::string> record_ids(static_cast<std::size_t>(ids)), record_texts(static_cast<std::size_t>(texts));
    for (auto* list : {&names, &record_ids, &record_texts})
        for (auto& entry : *list) {
            if (!std::getline(meta, line)) throw ShardDamaged("cache shard " + meta_file.string() + " is truncated");
            entry = unescape(line);
        }
    EcgSplit split;
    split.signals = map_signals(dir / "signals.f32", n, leads, samples);
    split.lead_present = read_tensor(dir / "lead_present.u8", {n, leads}, at::kByte).to(at::kBool);
    split.labels = read_tensor(dir / "labels.f32", {n, classes}, at::kFloat);
    split.subjects = read_tensor(dir / "subjects.i64", {n}, at::kLong);
    split.source_records = read_tensor(dir / "sources.i64", {n}, at::kLong);
    const at::Tensor values = read_tensor(dir / "covariates.f32", {covariates, n}, at::kFloat);
    for (std::int64_t k = 0; k < covariates; ++k) split.covariates[names[static_cast<std::size_t>(k)]] = values[k];
    split.record_ids = std::move(record_ids);
    split.texts = std::move(record_texts);
    return split;
}

bool ShardCache::contains(const std::string& key) const { return fs::exists(root_ / key / "meta.txt"); }

std::string ShardCache::quick_check(const std::string& key) const { return check_shard(root_ / key, false); }

std::string ShardCache::verify(const std::string& key) const { return check_shard(root_ / key, true); }

void ShardCache::discard(const std::string& key) const {
    const fs::path dir = root_ / key;
    std::random_device random;
    const fs::path aside = root_ / (key + ".discarded-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    std::error_code error;
    fs::rename(dir, aside, error);
    if (error) {
        if (!fs::exists(dir)) return;  // another process discarded it first
        throw std::runtime_error("cannot remove damaged cache shard " + dir.string() + ": " + error.message());
    }
    fs::remove_all(aside, error);
}

std::vector<std::string> ShardCache::keys() const {
    std::vector<std::string> keys;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(root_, error)) {
        const std::string name = entry.path().filename().string();
        std::error_code ignored;
        // Temporary directories of shards being built or discarded (by this or another process).
        if (!entry.is_directory(ignored) || name.find(".tmp-") != std::string::npos || name.find(".discarded-") != std::string::npos)
            continue;
        keys.push_back(name);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

void ShardCache::store(const std::string& key, const EcgSplit& split) const {
    if (contains(key)) return;
    ShardWriter writer(*this, key);
    writer.append(split);
    writer.commit();
}

ShardWriter::ShardWriter(const ShardCache& cache, std::string key) : root_(cache.root()), key_(std::move(key)) {
    fs::create_directories(root_);
    std::random_device random;
    tmp_ = root_ / (key_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    fs::create_directories(tmp_);
    signals_.open(tmp_ / "signals.f32", std::ios::binary);
    if (!signals_) throw std::runtime_error("cannot create " + (tmp_ / "signals.f32").string());
}

ShardWriter::~ShardWriter() {
    if (committed_) return;
    signals_.close();
    std::error_code ignored;
    fs::remove_all(tmp_, ignored);
}

void ShardWriter::append(const EcgSplit& chunk) {
    if (committed_) throw std::logic_error("ShardWriter::append after commit");
    const std::int64_t m = chunk.size();
    const std::int64_t classes = chunk.labels.defined() ? chunk.labels.size(1) : 0;
    if (!started_) {
        started_ = true;
        leads_ = chunk.signals.size(1);
        samples_ = chunk.signals.size(2);
        classes_ = classes;
        for (const auto& [name, values] : chunk.covariates) covariate_names_.push_back(name);
        covariates_.resize(covariate_names_.size());
        has_texts_ = !chunk.texts.empty();
    }
    const std::string where = "shard " + key_ + ", chunk at record " + std::to_string(n_) + ": ";
    if (chunk.signals.size(1) != leads_ || chunk.signals.size(2) != samples_ || classes != classes_)
        throw std::invalid_argument(where + "leads, samples or classes differ from the first chunk");
    if (chunk.covariates.size() != covariate_names_.size() || has_texts_ != !chunk.texts.empty())
        throw std::invalid_argument(where + "covariates or texts differ from the first chunk");
    const at::Tensor signals = chunk.signals.to(at::kFloat).contiguous();
    signals_.write(static_cast<const char*>(signals.data_ptr()), static_cast<std::streamsize>(signals.numel() * sizeof(float)));
    signals_hash_.update(signals.data_ptr(), static_cast<std::size_t>(signals.numel()) * sizeof(float));
    if (!signals_) throw std::runtime_error("cannot write " + (tmp_ / "signals.f32").string() + " (disk full?)");
    auto append_values = [](auto& to, const at::Tensor& t) {
        using T = typename std::decay_t<decltype(to)>::value_type;
        const at::Tensor c = t.contiguous();
        const T* p = c.data_ptr<T>();
        to.insert(to.end(), p, p + c.numel());
    };
    append_values(present_, chunk.lead_present.to(at::kByte));
    if (classes_ > 0) append_values(labels_, chunk.labels.to(at::kFloat));
    append_values(subjects_, chunk.subjects.to(at::kLong));
    // Rows without a window/beats step are their own source record.
    append_values(sources_, chunk.source_records.defined() ? chunk.source_records.to(at::kLong) : at::arange(n_, n_ + m, at::kLong));
    for (std::size_t k = 0; k < covariate_names_.size(); ++k) {
        const auto it = chunk.covariates.find(covariate_names_[k]);
        if (it == chunk.covariates.end()) throw std::invalid_argument(where + "lacks covariate '" + covariate_names_[k] + "'");
        append_values(covariates_[k], it->second.to(at::kFloat).reshape({m}));
    }
    record_ids_.insert(record_ids_.end(), chunk.record_ids.begin(), chunk.record_ids.end());
    texts_.insert(texts_.end(), chunk.texts.begin(), chunk.texts.end());
    n_ += m;
}

void ShardWriter::commit() {
    if (committed_) return;
    signals_.close();
    if (!signals_) throw std::runtime_error("cannot write " + (tmp_ / "signals.f32").string());
    auto write_raw = [&](const char* name, const void* data, std::size_t bytes) {
        std::ofstream out(tmp_ / name, std::ios::binary);
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
        if (!out.flush()) throw std::runtime_error("cannot write " + (tmp_ / name).string());
    };
    write_raw("lead_present.u8", present_.data(), present_.size());
    write_raw("labels.f32", labels_.data(), labels_.size() * sizeof(float));
    write_raw("subjects.i64", subjects_.data(), subjects_.size() * sizeof(std::int64_t));
    write_raw("sources.i64", sources_.data(), sources_.size() * sizeof(std::int64_t));
    {
        std::ofstream out(tmp_ / "covariates.f32", std::ios::binary);  // [K, N]: one covariate after another
        for (const auto& column : covariates_)
            out.write(reinterpret_cast<const char*>(column.data()), static_cast<std::streamsize>(column.size() * sizeof(float)));
        if (!out.flush()) throw std::runtime_error("cannot write " + (tmp_ / "covariates.f32").string());
    }
    std::ofstream meta(tmp_ / "meta.txt");
    meta << kMagic << "\n"
         << n_ << " " << leads_ << " " << samples_ << " " << classes_ << " " << covariate_names_.size() << " "
         << record_ids_.size() << " " << texts_.size() << "\n";
    for (const auto& name : covariate_names_) meta << escape(name) << "\n";
    for (const auto& id : record_ids_) meta << escape(id) << "\n";
    for (const auto& text : texts_) meta << escape(text) << "\n";
    if (!meta.flush()) throw std::runtime_error("cannot write " + (tmp_ / "meta.txt").string());
    meta.close();
    // The content hashes every later use checks the shard against. signals.f32 was hashed as it
    // was written; the small files are read back.
    std::ostringstream manifest;
    manifest << kManifestMagic << "\n";
    for (const char* name : kFiles) {
        const fs::path file = tmp_ / name;
        const auto size = fs::file_size(file);
        const std::string sha = name == std::string(kSignals) ? signals_hash_.hex_digest() : sha256_file(file.string());
        manifest << name << " " << size << " " << sha << " " << edges_sha256(file, size) << "\n";
    }
    {
        std::ofstream out(tmp_ / kManifest);
        out << manifest.str();
        if (!out.flush()) throw std::runtime_error("cannot write " + (tmp_ / kManifest).string());
    }
    std::error_code error;
    fs::rename(tmp_, root_ / key_, error);  // fails harmlessly when another process got there first
    if (error) fs::remove_all(tmp_, error);
    committed_ = true;
}

}  // namespace ecgbench
