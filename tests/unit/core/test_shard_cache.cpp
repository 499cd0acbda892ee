// Processed-split shards: exact round trip, memory-mapped signals, keys, damaged shards.
#include "runner/shard_cache.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

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
