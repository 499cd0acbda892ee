// Processed-split shards: exact round trip, memory-mapped signals, keys, damaged shards, and
// building a shard chunk by chunk with bounded memory.
#include "runner/shard_cache.hpp"

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
    const std::string base = shard_key("fp", "1", {"I", "II"}, "", Split::Train);
    EXPECT_EQ(base, shard_key("fp", "1", {"I", "II"}, "", Split::Train));
    EXPECT_NE(base, shard_key("fp2", "1", {"I", "II"}, "", Split::Train));
    EXPECT_NE(base, shard_key("fp", "2", {"I", "II"}, "", Split::Train));
    EXPECT_NE(base, shard_key("fp", "1", {"II", "I"}, "", Split::Train));
    EXPECT_NE(base, shard_key("fp", "1", {"I", "II"}, R"([{"params":{},"step":"standardise"}])", Split::Train));
    EXPECT_NE(base, shard_key("fp", "1", {"I", "II"}, "", Split::Test));
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
    EXPECT_THROW(cache.load("k"), std::runtime_error);
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
    for (const char* name : {"signals.f32", "lead_present.u8", "labels.f32", "subjects.i64", "covariates.f32", "meta.txt"}) {
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
