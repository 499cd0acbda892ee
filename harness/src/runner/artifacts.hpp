// Artifacts (checkpoints) are trusted by their recorded SHA-256, never by their size: every use
// re-hashes the bytes it uses, and `ecgbench verify` checks a whole store and its shard cache.
#pragma once

#include "ecgbench/encoder.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecgbench {

/// How a damaged or missing checkpoint is recovered (README "Store schema", "Verifying a store").
extern const char* const kArtifactRecovery;

/// An artifact whose file is missing, or whose bytes differ from what the store recorded. what()
/// names the file, the recorded and the actual SHA-256 (and sizes) and how to recover; problem()
/// is the same without the recovery sentence.
class ArtifactDamaged : public std::runtime_error {
public:
    /// `read_error`: the file exists but could not be read (its text).
    ArtifactDamaged(const ArtifactRecord& artifact, std::string actual_sha256, std::int64_t actual_bytes, bool missing,
                    const std::string& read_error = "");
    const std::string& problem() const { return problem_; }
    const std::string& path() const { return path_; }
    const std::string& expected_sha256() const { return expected_; }
    const std::string& actual_sha256() const { return actual_; }  ///< "" when the file is missing or unreadable
    bool missing() const { return missing_; }

private:
    std::string problem_, path_, expected_, actual_;
    bool missing_;
};

/// What a full check of an artifact found: "" when intact, else the problem (ArtifactDamaged::problem()).
std::string check_artifact(const ArtifactRecord& artifact);
/// Throws ArtifactDamaged unless the file exists with the recorded size and SHA-256 (the whole
/// file is hashed: ~0.1 s per 35 MB, see README "Store schema").
void verify_artifact(const ArtifactRecord& artifact);

struct VerifiedBytes {
    std::string bytes;
    std::string sha256;  ///< of `bytes`, computed here (equal to the recorded one)
};
/// The artifact's bytes, read once and checked against the recorded size and SHA-256
/// (ArtifactDamaged otherwise). Whoever loads the artifact loads these bytes, not the path again,
/// so what is used is exactly what was hashed.
VerifiedBytes read_verified(const ArtifactRecord& artifact);

/// Loads an encoder checkpoint (the archive save_checkpoint writes) from its verified bytes;
/// returns the SHA-256 of the bytes loaded, for the run's provenance. Throws ArtifactDamaged for a
/// missing or damaged file, std::runtime_error naming the path when the archive does not fit.
std::string load_encoder_verified(Encoder& encoder, const ArtifactRecord& checkpoint);

/// One artifact or shard checked by verify_store.
struct VerifiedItem {
    std::string kind;     ///< "checkpoint" (or another artifact kind), or "shard"
    std::string path;     ///< file (artifact) or directory (shard)
    std::string owner;    ///< artifact: the cell hash of the run that produced it; shard: its key
    std::int64_t bytes = 0;
    std::string problem;  ///< "" when intact
};

/// Fully checks the artifacts of every cell's latest finished run in `store` (older runs'
/// artifacts are superseded) and every committed shard under `cache_dir`. A damaged shard is
/// discarded when `discard_damaged_shards` (the cheap check on use cannot see damage inside its
/// signals, so it would otherwise stay in use; the next run that needs it rebuilds it). `on_item`
/// (optional) is called as each item is done.
std::vector<VerifiedItem> verify_store(Store& store, const std::string& cache_dir, bool discard_damaged_shards,
                                       const std::function<void(const VerifiedItem&)>& on_item = {});

}  // namespace ecgbench
