// Artifacts trusted by their SHA-256: intact, same-size damage, missing files; a checkpoint loaded
// from the very bytes that were hashed; nothing loaded from a damaged one.
#include "runner/artifacts.hpp"
#include "runner/checkpoint.hpp"
#include "support/flip_bytes.hpp"
#include "ecgbench/sha256.hpp"

#include <torch/nn/modules/linear.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using namespace ecgbench;

namespace {

class TinyEncoder : public Encoder {
public:
    TinyEncoder() { linear_ = register_module("linear", torch::nn::Linear(6, 3)); }
    EncoderOutput encode(const EncoderBatch& b) override { return {linear_->forward(b.signals.flatten(1)), {}}; }
    std::int64_t embedding_dim() const override { return 3; }
    torch::nn::Linear linear_{nullptr};
};

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("ecgbench-artifacts-" + std::to_string(std::random_device{}()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

ArtifactRecord record_of(const std::string& path) {
    return {"checkpoint", path, sha256_file(path), static_cast<std::int64_t>(fs::file_size(path))};
}

void flip_middle(const std::string& path, std::size_t count) { test_support::flip_bytes(path, fs::file_size(path) / 2, count); }

}  // namespace

TEST(Artifacts, IntactCheckpointLoadsAndReportsTheHashOfTheBytesLoaded) {
    TempDir dir;
    TinyEncoder saved;
    const std::string path = (dir.path / "c.pt").string();
    save_checkpoint(saved, nullptr, path);
    const ArtifactRecord artifact = record_of(path);
    EXPECT_NO_THROW(verify_artifact(artifact));
    EXPECT_EQ(check_artifact(artifact), "");
    const VerifiedBytes verified = read_verified(artifact);
    EXPECT_EQ(static_cast<std::int64_t>(verified.bytes.size()), artifact.bytes);
    EXPECT_EQ(verified.sha256, artifact.sha256);

    TinyEncoder loaded;
    EXPECT_EQ(load_encoder_verified(loaded, artifact), artifact.sha256);
    EXPECT_TRUE(at::equal(loaded.linear_->weight, saved.linear_->weight));
    EXPECT_TRUE(at::equal(loaded.linear_->bias, saved.linear_->bias));
}

TEST(Artifacts, SameSizeDamageIsNamedWithBothHashesAndNothingIsLoaded) {
    TempDir dir;
    TinyEncoder saved;
    const std::string path = (dir.path / "c.pt").string();
    save_checkpoint(saved, nullptr, path);
    const ArtifactRecord artifact = record_of(path);
    flip_middle(path, 64);
    ASSERT_EQ(static_cast<std::int64_t>(fs::file_size(path)), artifact.bytes);
    const std::string actual = sha256_file(path);
    ASSERT_NE(actual, artifact.sha256);

    TinyEncoder target;
    const at::Tensor before = target.linear_->weight.clone();
    try {
        load_encoder_verified(target, artifact);
        FAIL() << "expected ArtifactDamaged";
    } catch (const ArtifactDamaged& e) {
        const std::string text = e.what();
        EXPECT_NE(text.find("checkpoint " + path + " is damaged: its sha256 is " + actual + ", the store recorded " +
                            artifact.sha256),
                  std::string::npos) << text;
        EXPECT_NE(text.find("redoes the pretraining cell"), std::string::npos) << text;
        EXPECT_EQ(e.path(), path);
        EXPECT_EQ(e.expected_sha256(), artifact.sha256);
        EXPECT_EQ(e.actual_sha256(), actual);
        EXPECT_FALSE(e.missing());
    }
    EXPECT_TRUE(at::equal(target.linear_->weight, before));  // untouched
    EXPECT_THROW(verify_artifact(artifact), ArtifactDamaged);
    EXPECT_THROW(read_verified(artifact), ArtifactDamaged);
    EXPECT_NE(check_artifact(artifact).find(actual), std::string::npos);
}

TEST(Artifacts, MissingOrResizedFilesAreDamagedToo) {
    TempDir dir;
    TinyEncoder saved;
    const std::string path = (dir.path / "c.pt").string();
    save_checkpoint(saved, nullptr, path);
    const ArtifactRecord artifact = record_of(path);
    fs::resize_file(path, fs::file_size(path) + 3);
    try {
        verify_artifact(artifact);
        FAIL() << "expected ArtifactDamaged";
    } catch (const ArtifactDamaged& e) {
        EXPECT_NE(std::string(e.what()).find("bytes, recorded " + std::to_string(artifact.bytes)), std::string::npos) << e.what();
    }
    fs::remove(path);
    try {
        TinyEncoder target;
        load_encoder_verified(target, artifact);
        FAIL() << "expected ArtifactDamaged";
    } catch (const ArtifactDamaged& e) {
        EXPECT_TRUE(e.missing());
        EXPECT_NE(std::string(e.what()).find(path + " is missing"), std::string::npos) << e.what();
    }
}
