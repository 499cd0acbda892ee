// Processed-split shards: exact round trip, memory-mapped signals, keys, damaged shards, content
// hashes (manifest, cheap check on load, full verify, discard), and building a shard chunk by
// chunk with bounded memory.
#include "runner/shard_cache.hpp"
#include "util/json.hpp"
#include "support/flip_bytes.hpp"
#include "ecgbench/sha256.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <sys/resource.h>

namespace fs = std::filesystem;
using namespace ecgbench;

namespace {

EcgSplit example() {
    EcgSplit s;
    s.signals = at::randn({5, 3, 40});
    s.lead_present = at::ones({5, 3}, at::kBool);
    s.lead_present[2][1] = false;
    s.labels = at::randint(0, 2, {5, 4}).to(at::kFloat);
    s.subjects = at::arange(5, at::kLong) * 7;
    s.covariates["age"] = at::tensor({50.0f, NAN, 61.0f, 70.0f, 33.0f});
    s.covariates["hr_bpm"] = at::tensor({60.0f, 61.0f, 62.0f, 63.0f, 64.0f});
    s.record_ids = {"a", "b@100", "c", "d", "e"};
    s.texts = {"sinus rhythm", "line one\nline two \\ back", "", "afib", "lbbb"};
    return s;
}

bool same(const at::Tensor& a, const at::Tensor& b) {
    return a.sizes().equals(b.sizes()) && at::equal(at::isnan(a), at::isnan(b)) && at::equal(at::nan_to_num(a), at::nan_to_num(b));
}

/// A shard whose signals.f32 (120 × 12 × 100 float32, 576,000 bytes) has a middle beyond the
/// 64 KiB edges the cheap check hashes.
EcgSplit larger_example() {
    EcgSplit s;
    s.signals = at::randn({120, 12, 100});
    s.lead_present = at::ones({120, 12}, at::kBool);
    s.labels = at::randint(0, 2, {120, 5}).to(at::kFloat);
    s.subjects = at::arange(120, at::kLong);
    return s;
}

using test_support::flip_bytes;

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("ecgbench-shards-" + std::to_string(std::random_device{}()));
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(ShardCache, RoundTripIsExactAndSignalsAreMapped) {
    TempDir dir;
    const ShardCache cache(dir.path);
    const EcgSplit in = example();
    EXPECT_FALSE(cache.load("k1").has_value());
    cache.store("k1", in);
    const auto out = cache.load("k1");
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(at::equal(out->signals, in.signals));
    EXPECT_TRUE(at::equal(out->lead_present, in.lead_present));
    EXPECT_TRUE(at::equal(out->labels, in.labels));
    EXPECT_TRUE(at::equal(out->subjects, in.subjects));
    ASSERT_EQ(out->covariates.size(), 2u);
    EXPECT_TRUE(same(out->covariates.at("age"), in.covariates.at("age")));
    EXPECT_EQ(out->record_ids, in.record_ids);
    EXPECT_EQ(out->texts, in.texts);
    // Copy-on-write mapping: writing to the tensor does not change the shard.
    out->signals.zero_();
    EXPECT_TRUE(at::equal(cache.load("k1")->signals, in.signals));
    // No temporary directories left behind.
    int entries = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) entries += e.is_directory();
    EXPECT_EQ(entries, 1);
}

TEST(ShardCache, KeysSeparateEverythingThatChangesTheSplit) {
    const Json none = Json::array(), standardise = Json::parse(R"([{"params":{},"step":"standardise"}])");
    const std::string base = shard_key("fp", "1", {"I", "II"}, none, Split::Train);
    EXPECT_EQ(base, shard_key("fp", "1", {"I", "II"}, Json(), Split::Train));
    EXPECT_NE(base, shard_key("fp2", "1", {"I", "II"}, none, Split::Train));
    EXPECT_NE(base, shard_key("fp", "2", {"I", "II"}, none, Split::Train));
    EXPECT_NE(base, shard_key("fp", "1", {"II", "I"}, none, Split::Train));
    EXPECT_NE(base, shard_key("fp", "1", {"I", "II"}, standardise, Split::Train));
    EXPECT_NE(base, shard_key("fp", "1", {"I", "II"}, none, Split::Test));
    // Pinned: the keys caches were built under before JSON moved to nlohmann-json. sha256 of
    // {"data_version":"1","fingerprint":"fp","format":"ecgbench-shard 1","leads":["I","II"],"preprocess":[],"split":"train"}
    EXPECT_EQ(base, "116ac71e602837541608747a");
    EXPECT_EQ(shard_key("fp", "1", {"I", "II"}, standardise, Split::Train), "29d4206c203d236be5005b1c");
}

TEST(ShardCache, DamagedShardIsAnErrorNamingTheFile) {
    TempDir dir;
    const ShardCache cache(dir.path);
    cache.store("k", example());
    fs::resize_file(dir.path / "k" / "signals.f32", 10);
    try {
        cache.load("k");
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("signals.f32"), std::string::npos) << e.what();
    }
    std::ofstream(dir.path / "k" / "meta.txt") << "something else\n";
    EXPECT_THROW(cache.load("k"), ShardDamaged);
}

TEST(ShardCache, ManifestHashesEveryFileWhenCommitted) {
    TempDir dir;
    const ShardCache cache(dir.path);
    cache.store("k", example());
    std::ifstream manifest(dir.path / "k" / "manifest.txt");
    std::string line;
    ASSERT_TRUE(std::getline(manifest, line));
    EXPECT_EQ(line, "ecgbench-shard-manifest 1");
    int files = 0;
    std::string name, sha, edges;
    std::uintmax_t bytes = 0;
    while (manifest >> name >> bytes >> sha >> edges) {
        ++files;
        const fs::path file = dir.path / "k" / name;
        EXPECT_EQ(bytes, fs::file_size(file)) << name;
        EXPECT_EQ(sha, sha256_file(file.string())) << name;
        EXPECT_EQ(edges, sha) << name;  // every file of this shard is under 128 KiB: its edges are all of it
    }
    EXPECT_EQ(files, 7);
    EXPECT_EQ(cache.quick_check("k"), "");
    // Without a window/beats step every row is its own source record.
    const auto loaded = cache.load("k");
    ASSERT_TRUE(loaded);
    EXPECT_TRUE(at::equal(loaded->source_records, at::arange(loaded->size(), at::kLong)));
    EXPECT_EQ(cache.verify("k"), "");
    EXPECT_EQ(cache.keys(), std::vector<std::string>{"k"});
}

TEST(ShardCache, ChunkedSignalsHashEqualsTheFilesHash) {
    // signals.f32's hash is computed as chunks are written, not by reading the file back.
    TempDir dir;
    const ShardCache cache(dir.path);
    const EcgSplit in = larger_example();
    {
        ShardWriter writer(cache, "chunked");
        for (auto [begin, end] : {std::pair<int, int>{0, 50}, {50, 51}, {51, 120}})
            writer.append(subset(in, at::arange(begin, end, at::kLong)));
        writer.commit();
    }
    EXPECT_EQ(cache.verify("chunked"), "");
}

TEST(ShardCache, DamageInsideTheSignalsIsFoundByVerifyNotByTheCheapCheck) {
    TempDir dir;
    const ShardCache cache(dir.path);
    cache.store("k", larger_example());
    const fs::path signals = dir.path / "k" / "signals.f32";
    const std::string recorded = sha256_file(signals.string());
    flip_bytes(signals, 288000, 64);  // the middle, outside both 64 KiB edges; same size
    const std::string actual = sha256_file(signals.string());
    // The cheap check on every load reads the edges only: by design it cannot see this.
    EXPECT_EQ(cache.quick_check("k"), "");
    const std::string problem = cache.verify("k");
    EXPECT_NE(problem.find("signals.f32 has SHA-256 " + actual + ", its manifest records " + recorded), std::string::npos)
        << problem;
}

TEST(ShardCache, DamageTheCheapCheckSeesFailsTheLoad) {
    TempDir dir;
    const ShardCache cache(dir.path);
    cache.store("head", larger_example());
    cache.store("labels", larger_example());
    flip_bytes(dir.path / "head" / "signals.f32", 100, 8);  // inside the first 64 KiB
    flip_bytes(dir.path / "labels" / "labels.f32", 40, 4);  // a small file, hashed whole on every load
    for (const char* key : {"head", "labels"}) {
        EXPECT_NE(cache.quick_check(key), "") << key;
        EXPECT_NE(cache.verify(key), "") << key;
        try {
            cache.load(key);
            FAIL() << "expected ShardDamaged for " << key;
        } catch (const ShardDamaged& e) {
            const std::string text = e.what();
            EXPECT_NE(text.find((dir.path / key).string()), std::string::npos) << text;
            EXPECT_NE(text.find(std::string(key) == "head" ? "signals.f32" : "labels.f32"), std::string::npos) << text;
        }
    }
}

TEST(ShardCache, AShardWithoutManifestIsNeverUsed) {
    // Built before shards carried content hashes, or its manifest lost: it cannot be checked.
    TempDir dir;
    const ShardCache cache(dir.path);
    cache.store("k", example());
    fs::remove(dir.path / "k" / "manifest.txt");
    EXPECT_NE(cache.quick_check("k").find("manifest.txt is missing"), std::string::npos) << cache.quick_check("k");
    EXPECT_THROW(cache.load("k"), ShardDamaged);
    // A directory with the key's name but no meta.txt is no shard, yet it would block a rebuild.
    fs::remove(dir.path / "k" / "meta.txt");
    EXPECT_FALSE(cache.contains("k"));
    EXPECT_THROW(cache.load("k"), ShardDamaged);
}

TEST(ShardCache, DiscardRemovesTheShardSoItIsRebuilt) {
    TempDir dir;
    const ShardCache cache(dir.path);
    const EcgSplit in = example();
    cache.store("k", in);
    cache.store("other", in);
    fs::create_directories(dir.path / "k.tmp-1-2");  // a build in progress elsewhere: not a shard
    flip_bytes(dir.path / "k" / "subjects.i64", 0, 8);
    EXPECT_THROW(cache.load("k"), ShardDamaged);
    cache.discard("k");
    cache.discard("k");  // already gone (another process discarded it): nothing to do
    EXPECT_FALSE(cache.load("k").has_value());
    EXPECT_EQ(cache.keys(), std::vector<std::string>{"other"});
    cache.store("k", in);
    const auto out = cache.load("k");
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(at::equal(out->subjects, in.subjects));
    EXPECT_EQ(cache.keys(), (std::vector<std::string>{"k", "other"}));
}

TEST(ShardWriter, ChunkedBuildEqualsOneShot) {
    TempDir dir;
    const ShardCache cache(dir.path);
    const EcgSplit in = example();
    {
        ShardWriter writer(cache, "chunked");
        for (auto [begin, end] : {std::pair<int, int>{0, 2}, {2, 4}, {4, 5}})
            writer.append(subset(in, at::arange(begin, end, at::kLong)));
        EXPECT_FALSE(cache.contains("chunked"));  // invisible until committed
        writer.commit();
    }
    cache.store("whole", in);
    for (const char* name : {"signals.f32", "lead_present.u8", "labels.f32", "subjects.i64", "covariates.f32", "meta.txt", "manifest.txt"}) {
        std::ifstream a(dir.path / "chunked" / name, std::ios::binary), b(dir.path / "whole" / name, std::ios::binary);
        const std::string x((std::istreambuf_iterator<char>(a)), {}), y((std::istreambuf_iterator<char>(b)), {});
        EXPECT_EQ(x, y) << name;
    }
    const auto out = cache.load("chunked");
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(at::equal(out->signals, in.signals));
    EXPECT_EQ(out->record_ids, in.record_ids);
}

TEST(ShardWriter, AMismatchedChunkIsRejectedAndNothingIsLeft) {
    TempDir dir;
    const ShardCache cache(dir.path);
    const EcgSplit in = example();
    {
        ShardWriter writer(cache, "k");
        writer.append(subset(in, at::arange(0, 2, at::kLong)));
        EcgSplit other = subset(in, at::arange(2, 4, at::kLong));
        other.signals = other.signals.narrow(1, 0, 2);  // one lead short
        try {
            writer.append(other);
            FAIL() << "expected std::invalid_argument";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("chunk at record 2"), std::string::npos) << e.what();
        }
        other = subset(in, at::arange(2, 4, at::kLong));
        other.covariates.erase("age");
        EXPECT_THROW(writer.append(other), std::invalid_argument);
    }  // destroyed without commit: as if the process died mid-build
    EXPECT_FALSE(cache.contains("k"));
    EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(ShardWriter, MemoryStaysBoundedByOneChunk) {
    // 384 MiB of signal in 6 MiB chunks: the writer must not hold the split. Peak RSS is
    // process-wide, so the bound is loose (one chunk, its float copy, allocator slack), but a
    // writer that buffered the signals would exceed it several times over.
    TempDir dir;
    const ShardCache cache(dir.path);
    constexpr std::int64_t chunk_records = 128, leads = 12, samples = 1024, chunks = 64;
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    {
        ShardWriter writer(cache, "big");
        for (std::int64_t c = 0; c < chunks; ++c) {
            EcgSplit chunk;
            chunk.signals = at::full({chunk_records, leads, samples}, static_cast<float>(c));
            chunk.lead_present = at::ones({chunk_records, leads}, at::kBool);
            chunk.labels = at::zeros({chunk_records, 1});
            chunk.subjects = at::arange(chunk_records, at::kLong);
            writer.append(chunk);
        }
        writer.commit();
    }
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    const double grown_mib = static_cast<double>(after.ru_maxrss - before.ru_maxrss) / 1024.0;  // ru_maxrss is KiB
    const double total_mib = static_cast<double>(chunks * chunk_records * leads * samples * 4) / (1 << 20);
    EXPECT_LT(grown_mib, 64.0) << "peak RSS grew " << grown_mib << " MiB while writing " << total_mib << " MiB";
    const auto out = cache.load("big");
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->size(), chunks * chunk_records);
    EXPECT_EQ(out->signals[chunks * chunk_records - 1][11][1023].item<float>(), static_cast<float>(chunks - 1));
    EXPECT_EQ(out->signals[chunk_records][0][0].item<float>(), 1.0f);
}
