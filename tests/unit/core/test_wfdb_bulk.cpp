// The bulk decoder for plain format 16/212 files against the general decoder (the reference,
// forced through the internal switch) and against the samples written: random records of several
// widths and odd lengths, ranges, subsets, invalid samples, byte offsets, a record mixing a plain
// file with a skewed one, and every shared-data record when that folder is present.
#include "api/wfdb_bulk.hpp"
#include "ecgbench/wfdb.hpp"
#include "wfdb_temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace ecgbench::wfdb {
namespace {

namespace fs = std::filesystem;
using Columns = std::vector<std::vector<std::int32_t>>;

// Turns the bulk decoder off for its lifetime.
class GeneralDecodeOnly {
public:
    GeneralDecodeOnly() { detail::set_bulk_decode(false); }
    ~GeneralDecodeOnly() { detail::set_bulk_decode(true); }
};

SignalData read_general(const Header& h, const ReadOptions& o) {
    GeneralDecodeOnly general;
    return read_signals(h, o);
}

// Values anywhere in the format's valid range, about 3 % invalid, extremes included.
Columns random_samples(std::mt19937& rng, int nsig, std::int64_t frames, int format) {
    const std::int32_t hi = format == 16 ? 32767 : 2047;
    std::uniform_int_distribution<std::int32_t> value(-hi, hi);
    std::uniform_int_distribution<int> percent(0, 99);
    Columns cols(static_cast<std::size_t>(nsig));
    for (auto& col : cols)
        for (std::int64_t f = 0; f < frames; ++f) {
            const int p = percent(rng);
            col.push_back(p < 3 ? kInvalidSample : p < 5 ? (p == 3 ? hi : -hi) : value(rng));
        }
    return cols;
}

Header plain_header(int nsig) {
    Header h;
    h.fs = 500;
    for (int s = 0; s < nsig; ++s) {
        SignalInfo info;
        info.gain = 100 + s;
        info.gain_given = true;
        info.description = std::to_string(s);
        h.signals.push_back(info);
    }
    return h;
}

// Expected rows of a read: the written columns sliced to [from, to) in the requested order.
Columns expected_rows(const Columns& written, std::int64_t from, std::int64_t to, const std::vector<int>& signals) {
    Columns out;
    for (int s : signals) {
        const auto& col = written[static_cast<std::size_t>(s)];
        out.emplace_back(col.begin() + from, col.begin() + to);
    }
    return out;
}

// Bulk read == general read == the written samples, for the range and signal list in `o`.
void expect_same_reads(const Header& h, const Columns& written, ReadOptions o) {
    const auto to = o.to.value_or(static_cast<std::int64_t>(written[0].size()));
    const auto bulk = read_signals(h, o);
    const auto general = read_general(h, o);
    ASSERT_EQ(bulk.rows, to - o.from);
    EXPECT_EQ(bulk.digital, general.digital);
    if (o.signals.empty())
        for (int s = 0; s < h.nsig; ++s) o.signals.push_back(s);
    EXPECT_EQ(bulk.digital, expected_rows(written, o.from, to, o.signals))
        << "format " << h.signals[0].format << ", " << h.nsig << " signals, [" << o.from << ", " << to << ")";
}

TEST(WfdbBulkDecode, RandomRecordsRangesAndSubsetsMatchTheGeneralDecoder) {
    TempDir dir;
    std::mt19937 rng(20240611);
    for (int format : {16, 212})
        for (int nsig : {1, 2, 3, 5, 12})
            for (std::int64_t frames : {1, 7, 1001, 9999}) {
                const auto record =
                    dir.path() / (std::to_string(format) + "_" + std::to_string(nsig) + "_" + std::to_string(frames));
                const auto written = random_samples(rng, nsig, frames, format);
                write_record(record, plain_header(nsig), written, format);
                const auto h = read_header(record);
                expect_same_reads(h, written, {});
                std::uniform_int_distribution<std::int64_t> frame(0, frames);
                std::uniform_int_distribution<int> signal(0, nsig - 1);
                for (int trial = 0; trial < 12; ++trial) {
                    ReadOptions o;
                    o.from = frame(rng);
                    o.to = frame(rng);
                    if (*o.to < o.from) std::swap(o.from, *o.to);
                    // Reordered and repeated subsets; an empty list means all signals.
                    const int count = trial % 4 == 0 ? 0 : 1 + signal(rng) % (nsig + 2);
                    for (int k = 0; k < count; ++k) o.signals.push_back(signal(rng));
                    expect_same_reads(h, written, o);
                }
            }
}

// Bytes before the samples (e.g. a MATLAB preamble): an odd offset, both formats.
TEST(WfdbBulkDecode, ByteOffsetsAreHonoured) {
    TempDir dir;
    std::mt19937 rng(5);
    for (int format : {16, 212}) {
        const auto record = dir.path() / std::to_string(format);
        const auto written = random_samples(rng, 3, 501, format);
        write_record(record, plain_header(3), written, format);
        const auto dat = record.string() + ".dat";
        std::ifstream in(dat, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        in.close();
        std::ofstream(dat, std::ios::binary) << "PREAMBLE" << bytes;
        auto h = read_header(record);
        for (auto& sig : h.signals) sig.byte_offset = 8;
        expect_same_reads(h, written, {});
        ReadOptions o;
        o.from = 77;
        o.to = 300;
        o.signals = {2, 1};
        expect_same_reads(h, written, o);
    }
}

// One record, two files: a plain one (bulk) and one with skew (general path).
TEST(WfdbBulkDecode, PlainAndSkewedFilesInOneRecord) {
    TempDir dir;
    std::mt19937 rng(9);
    const auto plain = random_samples(rng, 2, 400, 212), skewed = random_samples(rng, 2, 400, 16);
    write_record(dir.path() / "p", plain_header(2), plain, 212);
    write_record(dir.path() / "q", plain_header(2), skewed, 16);
    auto h = read_header(dir.path() / "p");
    auto q = read_header(dir.path() / "q");
    q.signals[1].skew = 3;
    h.signals.insert(h.signals.end(), q.signals.begin(), q.signals.end());
    h.nsig = 4;
    h.nsamp = 397;
    ReadOptions o;
    o.from = 11;
    o.to = 390;
    o.signals = {3, 0, 2};
    const auto d = read_signals(h, o);
    EXPECT_EQ(d.digital, read_general(h, o).digital);
    ASSERT_EQ(d.digital.size(), 3u);
    EXPECT_EQ(d.digital[0], std::vector<std::int32_t>(skewed[1].begin() + 14, skewed[1].begin() + 393));
    EXPECT_EQ(d.digital[1], std::vector<std::int32_t>(plain[0].begin() + 11, plain[0].begin() + 390));
}

// The decoder itself on hand-made bytes: 3 signals of 212 read from frame 1, so the range starts
// inside a block (sample 3 is the second of block 1), and a short last block reads as zero.
TEST(WfdbBulkDecode, Format212RangeStartingInsideABlock) {
    TempDir dir;
    // Samples 0..6: 1, -1, 2047, -2048 (invalid), 0x123, -0x123, 5; 7 samples, so the file ends
    // with a 2-byte half block.
    const unsigned char bytes[] = {0x01, 0xf0, 0xff, 0xff, 0x87, 0x00, 0x23, 0xe1, 0xdd, 0x05, 0x00};
    const auto file = dir.path() / "x.dat";
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes), sizeof bytes);
    const auto cols = detail::read_plain_frames(file, 212, 0, 3, 1, 3, {0, 2});
    // Frame 1 = samples 3..5, frame 2 = samples 6..8 (7 and 8 lie past the end).
    ASSERT_EQ(cols.size(), 2u);
    EXPECT_EQ(cols[0], (std::vector<std::int32_t>{kInvalidSample, 5}));
    EXPECT_EQ(cols[1], (std::vector<std::int32_t>{-0x123, 0}));
    EXPECT_EQ(detail::read_plain_frames(file, 212, 0, 3, 0, 1, {1, 2})[1], std::vector<std::int32_t>{2047});
}

// Every single-segment record in the shared data (a bounded prefix and a late, odd-started range
// with the signals reversed): the bulk decoder, where it applies, changes nothing, errors included.
TEST(WfdbBulkDecode, SharedDataRecordsReadTheSameBothWays) {
    const fs::path root = ECGBENCH_SHARED_DATA;
    if (!fs::exists(root)) GTEST_SKIP() << "shared WFDB data absent (" << root << ")";
    int compared = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.path().extension() != ".hea") continue;
        Header h;
        try {
            h = read_header(fs::path(entry.path()).replace_extension());
        } catch (const WfdbError&) {
            continue;
        }
        if (h.multi_segment() || h.nsig == 0) continue;
        const auto length = h.nsamp.value_or(20000);
        ReadOptions head, late;
        head.to = std::min<std::int64_t>(length, 20000);
        late.from = std::min<std::int64_t>(length, length / 2 | 1);
        late.to = std::min<std::int64_t>(length, late.from + 5000);
        for (int s = h.nsig - 1; s >= 0; --s) late.signals.push_back(s);
        for (const auto& o : {head, late}) {
            std::string bulk_error, general_error;
            SignalData bulk, general;
            try {
                bulk = read_signals(h, o);
            } catch (const WfdbError& e) {
                bulk_error = e.what();
            }
            try {
                general = read_general(h, o);
            } catch (const WfdbError& e) {
                general_error = e.what();
            }
            EXPECT_EQ(bulk_error, general_error) << entry.path();
            EXPECT_EQ(bulk.digital, general.digital) << entry.path();
            ++compared;
        }
    }
    EXPECT_GT(compared, 50);
}

}  // namespace
}  // namespace ecgbench::wfdb
