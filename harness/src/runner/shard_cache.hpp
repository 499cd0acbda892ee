// Processed splits on disk, memory-mapped when read back: a split that took minutes to read from
// WFDB files and preprocess is reused by every later run and experiment with the same data, leads
// and pipeline, and its samples are paged in by the OS on demand instead of held in RAM.
//
// A shard is a directory <root>/<key>/ holding
//   signals.f32       float32 [N, L, T], native byte order, row-major (memory-mapped)
//   lead_present.u8   uint8 [N, L];  labels.f32 float32 [N, C];  subjects.i64 int64 [N]
//   covariates.f32    float32 [K, N] (names in meta.txt)
//   meta.txt          "ecgbench-shard 1", sizes, covariate names, record ids and texts (escaped)
//   manifest.txt      "ecgbench-shard-manifest 1", then per file above: name, bytes, SHA-256 of
//                     the whole file, SHA-256 of its edges (first and last 64 KiB)
// written to a temporary directory and renamed into place, so a crash never leaves a partial shard
// and two processes building the same shard both end with a complete one. Every load checks the
// shard cheaply against its manifest (sizes, the small files' hashes, the signals' edges); verify()
// hashes everything. A shard that fails (or has no manifest) is ShardDamaged, never used: the
// runner discards and rebuilds it.
#pragma once

#include "ecgbench/dataset.hpp"
#include "ecgbench/sha256.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecgbench {

/// The shard key: a hash of everything that determines the processed split. `pipeline` is the
/// declared pipeline's steps (Pipeline::json; null or [] = none).
std::string shard_key(const std::string& dataset_fingerprint, const std::string& data_version,
                      const std::vector<std::string>& leads, const nlohmann::json& pipeline, Split split);

/// A committed shard that does not match its manifest, cannot be read, or has no manifest (built
/// before shards carried content hashes). The message names the shard and the file.
class ShardDamaged : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ShardCache {
public:
    explicit ShardCache(std::filesystem::path root) : root_(std::move(root)) {}
    const std::filesystem::path& root() const { return root_; }
    /// The shard, its signals memory-mapped (copy-on-write), or nullopt when absent. The shard is
    /// first checked cheaply against its manifest; ShardDamaged (naming the file) when it fails.
    std::optional<EcgSplit> load(const std::string& key) const;
    bool contains(const std::string& key) const;
    /// Writes `split` as shard `key` (atomically; an existing shard is kept).
    void store(const std::string& key, const EcgSplit& split) const;
    /// The cheap check every load does: the manifest, every file's size, the SHA-256 of every file
    /// but signals.f32 (small, read whole anyway) and of the signals' first and last 64 KiB.
    /// "" when it passes, else what is wrong, naming the file.
    std::string quick_check(const std::string& key) const;
    /// The full check: every file's SHA-256 against the manifest. "" when intact, else what is wrong.
    std::string verify(const std::string& key) const;
    /// Removes a (damaged) shard: renamed aside atomically, then deleted, so other processes see it
    /// whole or not at all and the next use rebuilds it. Mappings already made stay valid.
    void discard(const std::string& key) const;
    /// Keys of the committed shards under root(), sorted.
    std::vector<std::string> keys() const;

private:
    std::filesystem::path root_;
};

/// Builds a shard from consecutive chunks of a split: signals go straight to disk, so memory stays
/// bounded by one chunk plus the small per-record fields (labels, subjects, covariates, ids, texts).
/// Nothing is visible under the key until commit(); a writer destroyed before (an error, a kill
/// mid-build) leaves no trace but its temporary directory's removal.
class ShardWriter {
public:
    ShardWriter(const ShardCache& cache, std::string key);
    ~ShardWriter();
    ShardWriter(const ShardWriter&) = delete;
    ShardWriter& operator=(const ShardWriter&) = delete;

    /// Appends the records of `chunk`; its leads, samples, classes, covariate names and whether it
    /// has texts must match the first chunk's (std::invalid_argument naming the chunk otherwise).
    void append(const EcgSplit& chunk);
    /// Writes the small fields and the metadata and renames the shard into place (an existing
    /// shard, built meanwhile by another process, is kept).
    void commit();
    std::int64_t size() const { return n_; }

private:
    std::filesystem::path root_, tmp_;
    std::string key_;
    std::ofstream signals_;
    Sha256 signals_hash_;  ///< of the bytes written to signals.f32, for the manifest
    std::int64_t n_ = 0, leads_ = 0, samples_ = 0, classes_ = 0;
    bool started_ = false, has_texts_ = false, committed_ = false;
    std::vector<std::uint8_t> present_;
    std::vector<float> labels_;
    std::vector<std::int64_t> subjects_;
    std::vector<std::int64_t> sources_;  ///< source record of each row (window/beats steps)
    std::vector<std::string> covariate_names_, record_ids_, texts_;
    std::vector<std::vector<float>> covariates_;
};

}  // namespace ecgbench
