// read_physical (one-pass physical matrix) against the per-sample conversion
// static_cast<T>(SignalData::physical(signal, row)), and read_digital (one int32 matrix) against
// read_signals' columns: bulk 16/212 and general paths, float, double and int32, both layouts, ranges, repeated signals, invalid samples as NaN; then MIT-BIH 100 whole
// and the multi-format, multi-rate, skewed and multi-segment fixtures of the shared data.
#include "api/wfdb_bulk.hpp"
#include "ecgbench/wfdb.hpp"
#include "wfdb_temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace ecgbench::wfdb {
namespace {

namespace fs = std::filesystem;

// "" when `m` holds exactly the per-sample values of `d` (physical, NaN where they are NaN, for a
// floating-point matrix; digital for an int32 one), else the first difference.
template <typename T>
std::string difference(const SampleMatrix<T>& m, const SignalData& d) {
    if (m.rows != d.rows || m.signals.size() != d.signals.size() || m.from != d.from ||
        m.values.size() != static_cast<std::size_t>(d.rows) * d.signals.size())
        return "shape " + std::to_string(m.rows) + "x" + std::to_string(m.signals.size()) + " vs " +
               std::to_string(d.rows) + "x" + std::to_string(d.signals.size());
    for (std::size_t s = 0; s < d.signals.size(); ++s)
        for (std::int64_t r = 0; r < d.rows; ++r) {
            const T got = m.at(r, s);
            T want;
            if constexpr (std::is_floating_point_v<T>)
                want = static_cast<T>(d.physical(s, r));
            else
                want = d.digital[s][static_cast<std::size_t>(r)];
            if (!(got == want || (std::isnan(got) && std::isnan(want))))
                return "signal " + std::to_string(s) + " row " + std::to_string(r) + ": " + std::to_string(got) +
                       " vs " + std::to_string(want);
        }
    return "";
}

// Both element types, both layouts, and (where the bulk decoder applies) the general path too.
void expect_equal_to_per_sample(const Header& h, const ReadOptions& o, const std::string& what) {
    const auto d = read_signals(h, o);
    for (bool bulk : {true, false}) {
        detail::set_bulk_decode(bulk);
        for (auto layout : {Layout::frames, Layout::signals}) {
            EXPECT_EQ("", difference(read_physical<float>(h, o, layout), d)) << what << " float bulk=" << bulk;
            EXPECT_EQ("", difference(read_physical<double>(h, o, layout), d)) << what << " double bulk=" << bulk;
            EXPECT_EQ("", difference(read_digital(h, o, layout), d)) << what << " digital bulk=" << bulk;
        }
    }
    detail::set_bulk_decode(true);
}

TEST(WfdbPhysical, LayoutsIndexAsDocumented) {
    TempDir dir;
    Header h;
    h.fs = 100;
    SignalInfo a;
    a.gain = 2;
    a.gain_given = true;
    SignalInfo b = a;
    b.gain = 4;
    b.baseline = 1;
    h.signals = {a, b};
    write_record(dir.path() / "r", h, {{2, 4, kInvalidSample}, {5, 9, 13}}, 16);
    const auto frames = read_physical<double>(dir.path() / "r");
    EXPECT_EQ(frames.values.size(), 6u);
    EXPECT_EQ(frames.values[0], 1.0);
    EXPECT_EQ(frames.values[1], 1.0);  // (5 - 1) / 4
    EXPECT_EQ(frames.values[3], 2.0);
    EXPECT_TRUE(std::isnan(frames.values[4]));
    EXPECT_EQ(frames.values[5], 3.0);
    const auto signals = read_physical<float>(dir.path() / "r", {}, Layout::signals);
    EXPECT_EQ(signals.values[1], 2.0f);
    EXPECT_TRUE(std::isnan(signals.values[2]));
    EXPECT_EQ(signals.values[3], 1.0f);
    EXPECT_EQ(signals.at(2, 1), 3.0f);
    const auto digital = read_digital(dir.path() / "r", {}, Layout::signals);
    EXPECT_EQ(digital.values, (std::vector<std::int32_t>{2, 4, kInvalidSample, 5, 9, 13}));
    EXPECT_EQ(read_digital(dir.path() / "r").values, (std::vector<std::int32_t>{2, 5, 4, 9, kInvalidSample, 13}));
}

// Random 16/212 records with invalid samples, baselines and fractional gains; ranges, reordered
// and repeated subsets; a byte offset; a record mixing a plain file with a skewed one.
TEST(WfdbPhysical, RandomRecordsEqualThePerSampleConversion) {
    TempDir dir;
    std::mt19937 rng(31);
    for (int format : {16, 212}) {
        const std::int32_t hi = format == 16 ? 32767 : 2047;
        std::uniform_int_distribution<std::int32_t> value(-hi, hi);
        Header h;
        h.fs = 250;
        std::vector<std::vector<std::int32_t>> cols(3);
        for (int s = 0; s < 3; ++s) {
            SignalInfo info;
            info.gain = 200.0 / (s + 3);
            info.gain_given = true;
            info.baseline = s * 17 - 20;
            h.signals.push_back(info);
            for (int f = 0; f < 1003; ++f) cols[s].push_back(f % 37 == s ? kInvalidSample : value(rng));
        }
        const auto record = dir.path() / std::to_string(format);
        write_record(record, h, cols, format);
        const auto header = read_header(record);
        expect_equal_to_per_sample(header, {}, "whole " + std::to_string(format));
        ReadOptions o;
        o.from = 101;
        o.to = 902;
        o.signals = {2, 0, 2};
        expect_equal_to_per_sample(header, o, "range " + std::to_string(format));
        const auto m = read_physical<float>(header, o);
        EXPECT_TRUE(std::isnan(m.at(37 * 3 + 2 - 101, 0)));  // frame 113 of signal 2 is invalid

        auto offset = header;
        for (auto& sig : offset.signals) sig.byte_offset = 6;  // the first samples taken as a preamble
        offset.nsamp = 999;
        expect_equal_to_per_sample(offset, {}, "offset " + std::to_string(format));

        auto skewed = header;
        skewed.signals[1].skew = 2;
        skewed.nsamp = 1001;
        expect_equal_to_per_sample(skewed, {}, "skew " + std::to_string(format));
    }
}

TEST(WfdbPhysical, ErrorsAreThoseOfReadSignals) {
    TempDir dir;
    Header h;
    h.signals.resize(1);
    write_record(dir.path() / "e", h, {{1, 2, 3}}, 212);
    ReadOptions o;
    o.to = 4;
    EXPECT_THROW(read_physical<float>(dir.path() / "e", o), WfdbError);
    o.to = 2;
    o.signals = {1};
    EXPECT_THROW(read_physical<double>(dir.path() / "e", o), WfdbError);
    fs::remove(dir.path() / "e.dat");
    EXPECT_THROW(read_physical<float>(dir.path() / "e"), WfdbError);
    EXPECT_THROW(read_digital(dir.path() / "e"), WfdbError);
}

fs::path sample(const std::string& record) {
    return fs::path(ECGBENCH_SHARED_DATA) / "wfdb-python" / "sample-data" / record;
}

#define REQUIRE_SHARED_DATA()                                                                          \
    do {                                                                                               \
        if (!fs::exists(sample("100.hea")))                                                            \
            GTEST_SKIP() << "shared WFDB data absent (ECGBENCH_SHARED_DATA='" ECGBENCH_SHARED_DATA "')"; \
    } while (0)

TEST(WfdbPhysical, MitBih100WholeRecord) {
    REQUIRE_SHARED_DATA();
    const auto h = read_header(sample("100"));
    expect_equal_to_per_sample(h, {}, "100");
    ReadOptions o;
    o.from = 123457;
    o.to = 200001;
    o.signals = {1, 0};
    expect_equal_to_per_sample(h, o, "100 range");
}

// Every storage format (binformats: 8/16/61/80/160/212/310/311/24/32, flacformats: 508/516/524),
// several samples per frame (low and high resolution), skew, several files, FLAC at mixed rates,
// and multi-segment records (fixed and variable layout).
TEST(WfdbPhysical, MultiFormatFixtures) {
    REQUIRE_SHARED_DATA();
    ReadOptions high;
    high.high_resolution = true;
    for (const char* record : {"binformats", "flacformats", "03700181", "100skew", "a103l", "p10143",
                               "test01_00s_frame", "3000003_0003", "mixedsignals", "multi-segment/fixed1/v102s",
                               "multi-segment/041s/041s"}) {
        const auto h = read_header(sample(record));
        ReadOptions head;
        head.to = std::min<std::int64_t>(h.nsamp.value_or(20000), 20000);
        expect_equal_to_per_sample(h, head, record);
        expect_equal_to_per_sample(h, [&] { auto o = high; o.to = head.to; return o; }(), std::string(record) + " -H");
    }
}

}  // namespace
}  // namespace ecgbench::wfdb
