#include "runner/artifacts.hpp"

#include "runner/checkpoint.hpp"
#include "runner/shard_cache.hpp"
#include "ecgbench/sha256.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <torch/serialize.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ecgbench {
namespace fs = std::filesystem;

namespace {

std::string damage_text(const ArtifactRecord& a, const std::string& actual, std::int64_t actual_bytes, bool missing,
                        const std::string& read_error) {
    const std::string what = a.kind + " " + a.path;
    if (!read_error.empty())
        return what + " cannot be read (" + read_error + "; the store recorded sha256 " + a.sha256 + ")";
    if (missing)
        return what + " is missing (the store recorded sha256 " + a.sha256 + ", " + std::to_string(a.bytes) + " bytes)";
    std::string text = what + " is damaged: its sha256 is " + actual + ", the store recorded " + a.sha256;
    if (actual_bytes != a.bytes)
        text += " (" + std::to_string(actual_bytes) + " bytes, recorded " + std::to_string(a.bytes) + ")";
    return text;
}

}  // namespace

const char* const kArtifactRecovery =
    "The next `ecgbench run` redoes the pretraining cell that wrote it (automatically), and its evaluations then "
    "use the new checkpoint.";

ArtifactDamaged::ArtifactDamaged(const ArtifactRecord& artifact, std::string actual_sha256, std::int64_t actual_bytes,
                                 bool missing, const std::string& read_error)
    : std::runtime_error(damage_text(artifact, actual_sha256, actual_bytes, missing, read_error) + ". " + kArtifactRecovery),
      problem_(damage_text(artifact, actual_sha256, actual_bytes, missing, read_error)), path_(artifact.path),
      expected_(artifact.sha256), actual_(std::move(actual_sha256)), missing_(missing) {}

void verify_artifact(const ArtifactRecord& artifact) {
    std::error_code error;
    const auto bytes = fs::file_size(artifact.path, error);
    if (error || !fs::is_regular_file(artifact.path, error)) throw ArtifactDamaged(artifact, "", 0, true);
    // The whole file is hashed even when the size already differs: the message names both hashes.
    std::string actual;
    try {
        actual = sha256_file(artifact.path);
    } catch (const std::exception& e) {
        throw ArtifactDamaged(artifact, "", 0, false, e.what());
    }
    if (actual != artifact.sha256 || static_cast<std::int64_t>(bytes) != artifact.bytes)
        throw ArtifactDamaged(artifact, actual, static_cast<std::int64_t>(bytes), false);
}

std::string check_artifact(const ArtifactRecord& artifact) {
    try {
        verify_artifact(artifact);
        return "";
    } catch (const ArtifactDamaged& e) {
        return e.problem();
    } catch (const std::exception& e) {
        return e.what();
    }
}

VerifiedBytes read_verified(const ArtifactRecord& artifact) {
    std::error_code error;
    if (!fs::is_regular_file(artifact.path, error)) throw ArtifactDamaged(artifact, "", 0, true);
    std::ifstream in(artifact.path, std::ios::binary | std::ios::ate);
    if (!in) throw ArtifactDamaged(artifact, "", 0, false, std::string("cannot open: ") + std::strerror(errno));
    // One read of the whole file (an istreambuf_iterator copy took 8x as long as the hash).
    std::string bytes(static_cast<std::size_t>(in.tellg()), '\0');
    in.seekg(0);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!in) throw ArtifactDamaged(artifact, "", 0, false, "read error");
    const std::string actual = sha256_hex(bytes);
    if (actual != artifact.sha256 || static_cast<std::int64_t>(bytes.size()) != artifact.bytes)
        throw ArtifactDamaged(artifact, actual, static_cast<std::int64_t>(bytes.size()), false);
    return {std::move(bytes), actual};
}

std::string load_encoder_verified(Encoder& encoder, const ArtifactRecord& checkpoint) {
    const VerifiedBytes verified = read_verified(checkpoint);
    load_encoder_bytes(encoder, verified.bytes, checkpoint.path);  // from the bytes just hashed
    return verified.sha256;
}

std::vector<VerifiedItem> verify_store(Store& store, const std::string& cache_dir, bool discard_damaged_shards,
                                       const std::function<void(const VerifiedItem&)>& on_item) {
    std::vector<VerifiedItem> items;
    // The artifacts of each cell's latest finished run: what later runs use. Older runs' files
    // were replaced when their cell was redone, so they are not expected to match any more.
    struct Row {
        std::string cell;
        ArtifactRecord artifact;
    };
    std::vector<Row> rows;
    {
        SQLite::Statement q(store.database(),
                            "SELECT r.cell_hash, a.kind, a.path, a.sha256, a.bytes FROM artifacts a "
                            "JOIN runs r ON r.id = a.run_id "
                            "WHERE r.id = (SELECT MAX(id) FROM runs WHERE cell_hash = r.cell_hash AND status = 'finished') "
                            "ORDER BY r.cell_hash, a.kind, a.path");
        while (q.executeStep())
            rows.push_back({q.getColumn(0).getString(),
                            {q.getColumn(1).getString(), q.getColumn(2).getString(), q.getColumn(3).getString(),
                             q.getColumn(4).getInt64()}});
    }
    for (const auto& row : rows) {
        VerifiedItem item{row.artifact.kind, row.artifact.path, row.cell, row.artifact.bytes, check_artifact(row.artifact)};
        if (on_item) on_item(item);
        items.push_back(std::move(item));
    }
    const ShardCache shards{fs::path(cache_dir)};
    for (const auto& key : shards.keys()) {
        VerifiedItem item{"shard", (shards.root() / key).string(), key, 0, shards.verify(key)};
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(shards.root() / key, error))
            if (const auto size = entry.file_size(error); !error) item.bytes += static_cast<std::int64_t>(size);
        if (!item.problem.empty()) {
            item.problem = "cache shard " + item.path + " is damaged: " + item.problem;
            if (discard_damaged_shards) {
                shards.discard(key);
                item.problem += " (removed; the next run that needs it rebuilds it)";
            }
        }
        if (on_item) on_item(item);
        items.push_back(std::move(item));
    }
    return items;
}

}  // namespace ecgbench
