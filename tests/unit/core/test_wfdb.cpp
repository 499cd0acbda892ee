// WFDB reader/writer: header parsing and its errors, the 16/212 writer and annotation writer
// round trips, truncated and corrupt files (no shared data needed); and, when the shared data
// folder is present, rdsamp/rdann/wfdbdesc text compared line by line with the WFDB 10.7.0 and
// wfdb-python reference outputs (a bounded prefix of long records, to keep the suite fast).
#include "ecgbench/wfdb.hpp"
#include "io/wfdb_text.hpp"
#include "wfdb_temp_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace ecgbench::wfdb {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxRows = 10000;

// ---------------------------------------------------------------------------------------------
// Helpers

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const WfdbError& e) {
        return e.what();
    }
    return "(no error)";
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

fs::path shared_data() { return fs::path(ECGBENCH_SHARED_DATA); }

bool have_shared_data() {
    const std::string root = ECGBENCH_SHARED_DATA;
    return !root.empty() && fs::exists(shared_data() / "wfdb-python" / "sample-data" / "100.hea");
}

#define REQUIRE_SHARED_DATA()                                                                          \
    do {                                                                                               \
        if (!have_shared_data())                                                                       \
            GTEST_SKIP() << "shared WFDB data absent (ECGBENCH_SHARED_DATA='" ECGBENCH_SHARED_DATA "')"; \
    } while (0)

fs::path sample(const std::string& record) { return shared_data() / "wfdb-python" / "sample-data" / record; }
fs::path target(const std::string& file) { return shared_data() / "wfdb-python" / "target-output" / file; }
fs::path target10(const std::string& file) {
    return shared_data() / "wfdb-python" / "target-output-wfdb-10.7.0" / file;
}

// Up to `max_lines` lines of a reference file; `.gz` files go through `gzip -dc`.
std::vector<std::string> reference_lines(const fs::path& path, std::size_t max_lines = kMaxRows) {
    std::vector<std::string> lines;
    if (path.extension() == ".gz") {
        const std::string command = "gzip -dc '" + path.string() + "' 2>/dev/null";
        FILE* pipe = ::popen(command.c_str(), "r");
        if (!pipe) return lines;
        std::string line;
        int c = 0;
        while (lines.size() < max_lines && (c = std::fgetc(pipe)) != EOF) {
            if (c == '\n') {
                lines.push_back(line);
                line.clear();
            } else {
                line.push_back(static_cast<char>(c));
            }
        }
        ::pclose(pipe);
        return lines;
    }
    std::ifstream in(path);
    std::string line;
    while (lines.size() < max_lines && std::getline(in, line)) lines.push_back(line);
    return lines;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

// "" when equal, else where and how the first difference looks.
std::string first_difference(const std::vector<std::string>& actual, const std::vector<std::string>& expected) {
    for (std::size_t i = 0; i < std::min(actual.size(), expected.size()); ++i)
        if (actual[i] != expected[i])
            return "line " + std::to_string(i + 1) + ": got '" + actual[i] + "' expected '" + expected[i] + "'";
    if (actual.size() != expected.size())
        return "got " + std::to_string(actual.size()) + " lines, expected " + std::to_string(expected.size());
    return "";
}

std::vector<std::string> rdsamp_lines(const SignalData& d, bool physical, bool first_column,
                                      std::size_t max = kMaxRows) {
    std::vector<std::string> lines;
    for (std::int64_t r = 0; r < d.rows && lines.size() < max; ++r)
        lines.push_back(format_rdsamp_row(d, r, physical, first_column));
    return lines;
}

// A read compared with a reference; `prefix` compares only the first kMaxRows lines of both.
void expect_rdsamp(const fs::path& record, ReadOptions o, bool physical, bool first_column, const fs::path& ref,
                   bool prefix = false) {
    if (prefix && !o.to) {
        o.to = o.from + static_cast<std::int64_t>(kMaxRows);
        if (const auto n = read_header(record).nsamp) o.to = std::min(*o.to, *n);
    }
    const auto data = read_signals(record, o);
    auto expected = reference_lines(ref, prefix ? kMaxRows : std::string::npos);
    auto actual = rdsamp_lines(data, physical, first_column, prefix ? kMaxRows : std::string::npos);
    if (prefix) expected.resize(std::min(expected.size(), actual.size()));
    ASSERT_FALSE(expected.empty()) << ref;
    EXPECT_EQ("", first_difference(actual, expected)) << record << " vs " << ref;
}

ReadOptions range(std::int64_t from, std::optional<std::int64_t> to, std::vector<int> signals = {}) {
    ReadOptions o;
    o.from = from;
    o.to = to;
    o.signals = std::move(signals);
    return o;
}

ReadOptions high_res() {
    ReadOptions o;
    o.high_resolution = true;
    return o;
}

void expect_rdann(const fs::path& record, const std::string& annotator, const fs::path& ref) {
    double resolution = 0;
    auto file = record;
    file += "." + annotator;
    const auto anns = read_annotations(file, &resolution);
    auto hea = record;
    hea += ".hea";
    std::optional<Header> header;
    if (fs::exists(hea)) header = read_header(record);
    std::ostringstream out;
    write_rdann(out, anns, header, resolution);
    EXPECT_EQ("", first_difference(split_lines(out.str()), reference_lines(ref, std::string::npos))) << file;
}

void expect_same_annotations(const std::vector<Annotation>& a, const std::vector<Annotation>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].sample, b[i].sample) << i;
        EXPECT_EQ(a[i].type, b[i].type) << i;
        EXPECT_EQ(a[i].subtype, b[i].subtype) << i;
        EXPECT_EQ(a[i].chan, b[i].chan) << i;
        EXPECT_EQ(a[i].num, b[i].num) << i;
        EXPECT_EQ(a[i].aux, b[i].aux) << i;
    }
}

// ---------------------------------------------------------------------------------------------
// Header parsing (no shared data)

TEST(WfdbHeader, ParsesEveryRecordAndSignalField) {
    const std::string text =
        "# before the record line\n"
        "rec 3 250/24000(12) 1000 12:30:05.5 15/08/1994\n"
        "rec.dat 212x4:2+24 2963.77(-5)/mmHg 12 7 67 -11266 0 MCL 1 \n"
        "rec.dat 16 0 16\n"
        "other.dat 80\r\n"
        "# first note\n"
        "#second note\n";
    const auto h = parse_header(text, "rec.hea");
    EXPECT_EQ(h.name, "rec");
    EXPECT_EQ(h.nsig, 3);
    EXPECT_DOUBLE_EQ(h.fs, 250);
    EXPECT_DOUBLE_EQ(h.counter_freq, 24000);
    EXPECT_DOUBLE_EQ(h.base_counter, 12);
    EXPECT_EQ(h.nsamp, 1000);
    EXPECT_EQ(h.base_time, "12:30:05.5");
    EXPECT_EQ(h.base_date, "15/08/1994");
    ASSERT_EQ(h.signals.size(), 3u);
    const auto& s = h.signals[0];
    EXPECT_EQ(s.file_name, "rec.dat");
    EXPECT_EQ(s.format, 212);
    EXPECT_EQ(s.samples_per_frame, 4);
    EXPECT_EQ(s.skew, 2);
    EXPECT_EQ(s.byte_offset, 24);
    EXPECT_DOUBLE_EQ(s.gain, 2963.77);
    EXPECT_EQ(s.baseline, -5);
    EXPECT_EQ(s.units, "mmHg");
    EXPECT_EQ(s.adc_resolution, 12);
    EXPECT_EQ(s.adc_zero, 7);
    EXPECT_EQ(s.initial_value, 67);
    EXPECT_EQ(s.checksum, -11266);
    EXPECT_EQ(s.description, "MCL 1 ");  // spaces kept, trailing one too (wfdbdesc shows it)
    // Defaults: gain 0 means uncalibrated (200), baseline and initial value follow ADC zero.
    EXPECT_FALSE(h.signals[1].gain_given);
    EXPECT_DOUBLE_EQ(h.signals[1].gain, 200);
    EXPECT_EQ(h.signals[2].units, "mV");
    EXPECT_FALSE(h.signals[2].checksum.has_value());
    EXPECT_EQ(h.comments, (std::vector<std::string>{" before the record line", " first note", "second note"}));
    EXPECT_EQ(h.leading_comments, 1u);
}

TEST(WfdbHeader, ParsesMultiSegmentHeaders) {
    const auto h = parse_header("multi/4 2 125 30 8:26:04\nlayout 0\n~ 10\nseg1 15\nseg2 5\n", "multi.hea");
    EXPECT_TRUE(h.multi_segment());
    EXPECT_EQ(h.nsegments, 4);
    ASSERT_EQ(h.segments.size(), 4u);
    EXPECT_EQ(h.segments[0].name, "layout");
    EXPECT_EQ(h.segments[0].length, 0);
    EXPECT_EQ(h.segments[1].name, "~");
    EXPECT_EQ(h.segments[1].length, 10);
    EXPECT_EQ(h.base_time, "8:26:04");
}

TEST(WfdbHeader, OptionalFieldsMayBeMissing) {
    const auto h = parse_header("rec 1\nrec.dat 16\n", "rec.hea");
    EXPECT_FALSE(h.nsamp.has_value());
    EXPECT_FALSE(h.fs_given);
    EXPECT_DOUBLE_EQ(h.fs, 250);
    EXPECT_EQ(h.signals[0].adc_resolution, 0);
}

TEST(WfdbHeader, ErrorsNameFileAndLine) {
    auto err = [](const std::string& text) { return error_of([&] { parse_header(text, "bad.hea"); }); };
    EXPECT_NE(err("rec -1 250\n").find("bad.hea:1: signal count out of range"), std::string::npos) << err("rec -1 250\n");
    EXPECT_NE(err("rec 20000 250\n").find("bad.hea:1:"), std::string::npos);
    EXPECT_NE(err("rec 1 abc\nr.dat 16\n").find("bad.hea:1: bad sampling frequency 'abc'"), std::string::npos);
    EXPECT_NE(err("rec 1 250 -5\nr.dat 16\n").find("bad.hea:1: negative sample count"), std::string::npos);
    EXPECT_NE(err("# c\nrec 1 250\nr.dat 999\n").find("bad.hea:3: unknown storage format 999"), std::string::npos);
    EXPECT_NE(err("rec 1 250\nr.dat 16 nan/mV\n").find("bad.hea:2: bad ADC gain 'nan'"), std::string::npos);
    EXPECT_NE(err("rec 1 250\nr.dat 16 -3/mV\n").find("bad.hea:2: negative ADC gain"), std::string::npos);
    EXPECT_NE(err("rec 1 250\nr.dat 16x0\n").find("bad.hea:2: samples per frame"), std::string::npos);
    EXPECT_NE(err("rec 1 250\nr.dat 16y3\n").find("bad.hea:2: bad storage format field"), std::string::npos);
    EXPECT_NE(err("rec 1 250\nr.dat 16 200 99\n").find("bad.hea:2: ADC resolution out of range"), std::string::npos);
    EXPECT_NE(err("rec 2 250\nr.dat 16\n").find("expected 2 signal lines, found 1"), std::string::npos);
    EXPECT_NE(err("rec 1 250\nr.dat 16\nextra 16\n").find("bad.hea:3: unexpected line"), std::string::npos);
    EXPECT_NE(err("m/2 1 250\ns1 10\ns2 x\n").find("bad.hea:3: bad segment length 'x'"), std::string::npos);
    EXPECT_NE(err("# only a comment\n").find("no record line"), std::string::npos);
    EXPECT_NE(err("rec 1 250\nr.dat 16 200(1/mV\n").find("bad.hea:2: bad baseline"), std::string::npos);
}

TEST(WfdbHeader, MissingHeaderFileIsAnError) {
    EXPECT_NE(error_of([] { read_header("/nonexistent/rec"); }).find("/nonexistent/rec.hea"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Writer round trips and damaged files (no shared data)

Header two_signal_header() {
    Header h;
    h.fs = 360;
    SignalInfo a;
    a.gain = 200;
    a.gain_given = true;
    a.adc_zero = 0;
    a.description = "MLII";
    SignalInfo b = a;
    b.gain = 123.5;
    b.baseline = -7;
    b.units = "mmHg";
    b.description = "ABP pressure";
    h.signals = {a, b};
    h.comments = {" a note"};
    return h;
}

std::vector<std::vector<std::int32_t>> test_samples(std::int32_t lo, std::int32_t hi, std::size_t n) {
    std::vector<std::vector<std::int32_t>> cols(2);
    for (std::size_t i = 0; i < n; ++i) {
        cols[0].push_back(lo + 1 + static_cast<std::int32_t>((i * 7919) % static_cast<std::size_t>(hi - lo)));
        cols[1].push_back(hi - static_cast<std::int32_t>((i * 104729) % static_cast<std::size_t>(hi - lo)));
    }
    cols[0][3] = kInvalidSample;
    cols[1][0] = hi;
    cols[1][1] = lo + 1;
    return cols;
}

void expect_round_trip(int format, std::int32_t lo, std::int32_t hi) {
    TempDir dir;
    const auto cols = test_samples(lo, hi, 1001);  // odd: 212 ends with a half block
    write_record(dir.path() / "rt", two_signal_header(), cols, format);
    const auto h = read_header(dir.path() / "rt");
    EXPECT_EQ(h.nsamp, 1001);
    EXPECT_EQ(h.signals[1].baseline, -7);
    EXPECT_EQ(h.signals[1].units, "mmHg");
    EXPECT_EQ(h.signals[1].description, "ABP pressure");
    EXPECT_DOUBLE_EQ(h.signals[1].gain, 123.5);
    EXPECT_EQ(h.comments, std::vector<std::string>{" a note"});
    const auto d = read_signals(h);
    ASSERT_EQ(d.rows, 1001);
    EXPECT_EQ(d.digital, cols);
    EXPECT_TRUE(std::isnan(d.physical(0, 3)));
    EXPECT_DOUBLE_EQ(d.physical(1, 0), (hi + 7) / 123.5);
    // The checksum written is the 16-bit sum of the stored samples, as WFDB computes it.
    for (std::size_t s = 0; s < 2; ++s) {
        std::int32_t sum = 0;
        for (auto v : cols[s]) sum = static_cast<std::int16_t>(sum + (v == kInvalidSample ? lo : v));
        EXPECT_EQ(h.signals[s].checksum, sum);
    }
}

TEST(WfdbWriter, Format16RoundTripIsExact) { expect_round_trip(16, -32768, 32767); }
TEST(WfdbWriter, Format212RoundTripIsExact) { expect_round_trip(212, -2048, 2047); }

TEST(WfdbWriter, RejectsSamplesThatDoNotFit) {
    TempDir dir;
    auto cols = test_samples(-2048, 2047, 10);
    cols[0][5] = 5000;
    EXPECT_NE(error_of([&] { write_record(dir.path() / "x", two_signal_header(), cols, 212); })
                  .find("sample 5000 does not fit format 212"),
              std::string::npos);
    EXPECT_NE(error_of([&] { write_record(dir.path() / "x", two_signal_header(), cols, 24); }).find("formats 16 and 212"),
              std::string::npos);
}

TEST(WfdbReader, TruncatedFileNamesFileAndSample) {
    TempDir dir;
    write_record(dir.path() / "tr", two_signal_header(), test_samples(-2048, 2047, 100), 16);
    fs::resize_file(dir.path() / "tr.dat", 50 * 2 * 2 + 1);
    const auto e = error_of([&] { read_signals(dir.path() / "tr"); });
    EXPECT_NE(e.find("tr.dat: data ends at sample 50"), std::string::npos) << e;
    // The intact part still reads.
    EXPECT_EQ(read_signals(dir.path() / "tr", range(0, 40)).rows, 40);
}

TEST(WfdbReader, LengthIsInferredWithoutNsamp) {
    TempDir dir;
    const auto cols = test_samples(-2048, 2047, 77);
    write_record(dir.path() / "nl", two_signal_header(), cols, 212);
    auto h = read_header(dir.path() / "nl");
    h.nsamp.reset();
    const auto d = read_signals(h);
    EXPECT_EQ(d.rows, 77);
    EXPECT_EQ(d.digital, cols);
}

TEST(WfdbReader, RangesSubsetsAndBadRequests) {
    TempDir dir;
    const auto cols = test_samples(-32768, 32767, 50);
    write_record(dir.path() / "r", two_signal_header(), cols, 16);
    const auto d = read_signals(dir.path() / "r", range(10, 20, {1, 0, 1}));
    ASSERT_EQ(d.digital.size(), 3u);
    EXPECT_EQ(d.digital[0], std::vector<std::int32_t>(cols[1].begin() + 10, cols[1].begin() + 20));
    EXPECT_EQ(d.digital[1], std::vector<std::int32_t>(cols[0].begin() + 10, cols[0].begin() + 20));
    EXPECT_NE(error_of([&] { read_signals(dir.path() / "r", range(0, 51)); }).find("bad sample range"), std::string::npos);
    EXPECT_NE(error_of([&] { read_signals(dir.path() / "r", range(0, 5, {2})); }).find("signal 2 out of range"),
              std::string::npos);
    fs::remove(dir.path() / "r.dat");
    EXPECT_NE(error_of([&] { read_signals(dir.path() / "r"); }).find("r.dat"), std::string::npos);
}

// A skew beyond the file's end leaves nothing readable: an empty read, not a read (and an
// allocation) of skew × frame samples (fuzz_wfdb_signals found the allocation).
TEST(WfdbReader, SkewBeyondTheFileReadsNothing) {
    TempDir dir;
    write_text(dir.path() / "k.hea", "k 2 250\nk.dat 16 200 16 0 0 0 0 a\nk.dat 16:2147483647 200 16 0 0 0 0 b\n");
    write_text(dir.path() / "k.dat", std::string(8, '\1'));
    const auto d = read_signals(dir.path() / "k");
    EXPECT_EQ(d.rows, 0);
    ASSERT_EQ(d.digital.size(), 2u);
    EXPECT_TRUE(d.digital[1].empty());
}

TEST(WfdbReader, DamagedFlacIsAnError) {
    TempDir dir;
    write_text(dir.path() / "f.hea", "f 1 250 10\nf.dat 508\n");
    write_text(dir.path() / "f.dat", std::string(20, '\0'));
    EXPECT_NE(error_of([&] { read_signals(dir.path() / "f"); }).find("f.dat: not a FLAC stream"),
              std::string::npos);
}

TEST(WfdbAnnotations, WriterRoundTripCoversEveryField) {
    std::vector<Annotation> anns;
    auto add = [&](std::int64_t sample, int type, int sub, int chan, int num, std::string aux) {
        Annotation a;
        a.sample = sample;
        a.type = type;
        a.subtype = sub;
        a.chan = chan;
        a.num = num;
        a.aux = std::move(aux);
        anns.push_back(a);
    };
    add(18, 28, 0, 0, 0, std::string("(N\0", 3));
    add(18, 1, -3, 0, 0, "");
    add(1041, 5, 0, 1, 0, "odd");       // interval > 1023: SKIP
    add(1041, 22, 2, 255, -5, "even");  // chan and num change
    add(1042, 1, 0, 255, -5, std::string(255, 'x'));
    add(10000000000LL, 8, 0, 0, 127, "");  // beyond 32 bits: several SKIPs
    const auto bytes = encode_annotations(anns);
    const auto back = parse_annotations(bytes, "mem");
    expect_same_annotations(back, anns);
    EXPECT_EQ(back[0].symbol, "+");
    EXPECT_EQ(back[3].symbol, "\"");
    TempDir dir;
    write_annotations(dir.path() / "a.atr", anns);
    expect_same_annotations(read_annotations(dir.path() / "a.atr"), anns);
}

TEST(WfdbAnnotations, CorruptFilesAreErrors) {
    std::vector<Annotation> anns(1);
    anns[0].sample = 5;
    anns[0].aux = "hello";
    const auto bytes = encode_annotations(anns);
    // Cut inside the aux string.
    EXPECT_NE(error_of([&] { parse_annotations(bytes.substr(0, 6), "bad.atr"); }).find("bad.atr: byte"),
              std::string::npos);
    // A SKIP without its 4 bytes.
    EXPECT_NE(error_of([&] { parse_annotations(std::string("\x00\xec\x01", 3), "s.atr"); }).find("s.atr"),
              std::string::npos);
    // A modifier before any annotation.
    EXPECT_NE(error_of([&] { parse_annotations(std::string("\x05\xf0\x00\x00", 4), "m.atr"); })
                  .find("modifier before any annotation"),
              std::string::npos);
    Annotation bad;
    bad.type = 60;
    EXPECT_NE(error_of([&] { encode_annotations({bad}); }).find("cannot be written"), std::string::npos);
}

// Damaged inputs must end in WfdbError (or parse), never in a crash or another exception.
TEST(WfdbRobustness, MutatedHeadersAndAnnotationsNeverCrash) {
    const std::string header = "rec/2 3 250/24000(1) 100 10:00:00 01/01/2000\nrec.dat 212x4:2+24 200(3)/mV 12 0 5 7 0 d\n";
    const std::string single = "rec 2 250 100\nrec.dat 212x4:2+24 200(3)/mV 12 0 5 7 0 d\nrec.dat 16 100/mV\n";
    std::vector<Annotation> anns(3);
    for (std::size_t i = 0; i < anns.size(); ++i) {
        anns[i].sample = static_cast<std::int64_t>(i) * 5000;
        anns[i].aux = "aux" + std::to_string(i);
        anns[i].num = static_cast<int>(i);
    }
    const auto ann_bytes = encode_annotations(anns);
    TempDir dir;  // signal data for the mutated single-segment headers
    std::string dat(1500, '\0');
    for (std::size_t i = 0; i < dat.size(); ++i) dat[i] = static_cast<char>(i * 37);
    write_text(dir.path() / "rec.dat", dat);
    std::uint32_t seed = 12345;
    auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
    const std::string alphabet = " \t\n#/:+x()-.0123456789~aeN";
    for (int round = 0; round < 3000; ++round) {
        for (const auto* base : {&header, &single}) {
            std::string text = *base;
            for (int k = 0; k < 3; ++k) text[next() % text.size()] = alphabet[next() % alphabet.size()];
            try {
                auto h = parse_header(text, "fuzz.hea");
                h.directory = dir.path();
                if (round % 5 == 0 && !h.multi_segment()) read_signals(h);
            } catch (const WfdbError&) {
            }
        }
        std::string bytes = ann_bytes;
        for (int k = 0; k < 2; ++k) bytes[next() % bytes.size()] = static_cast<char>(next() & 0xff);
        bytes.resize(next() % (bytes.size() + 1));
        try {
            parse_annotations(bytes, "fuzz.atr");
        } catch (const WfdbError&) {
        }
    }
}

TEST(WfdbAnnotations, SymbolTable) {
    const std::string symbols = "NLRaVFJASEj/Q~|sT*D\"=pB^t+u?![]en@xf()r";
    for (char c : symbols) {
        const auto code = annotation_code(std::string(1, c));
        ASSERT_TRUE(code.has_value()) << c;
        EXPECT_EQ(annotation_symbol(*code), std::string(1, c));
    }
    EXPECT_EQ(annotation_code("N"), 1);
    EXPECT_EQ(annotation_code("V"), 5);
    EXPECT_EQ(annotation_symbol(15), "[15]");
    EXPECT_FALSE(annotation_code("[15]").has_value());
    EXPECT_FALSE(annotation_code("zz").has_value());
}

TEST(WfdbText, TimeArgumentsAndElapsedTimes) {
    EXPECT_EQ(parse_time_argument("s14428365", 125), 14428365);
    EXPECT_EQ(parse_time_argument("0.002", 360), 1);
    EXPECT_EQ(parse_time_argument("30", 360), 10800);
    EXPECT_NE(error_of([] { parse_time_argument("abc", 360); }).find("bad time 'abc'"), std::string::npos);
    EXPECT_EQ(elapsed_time(64, 360), "    0:00.178");
    EXPECT_EQ(elapsed_time(650000, 360), "   30:05.556");
    EXPECT_EQ(elapsed_time(10000000000LL, 250), "11111:06:40.000");
}

// Output and exit status of a shell command (stderr folded into stdout).
std::pair<std::string, int> run_command(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return {"", -1};
    char buffer[4096];
    while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    const int status = ::pclose(pipe);
    return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// Two spawns only: each start of the binary loads LibTorch (~1 s). The rest of the command is
// the formatting code tested directly above and below.
TEST(WfdbCli, ReadAndHeaderlessAnn) {
    TempDir dir;
    write_record(dir.path() / "cli", two_signal_header(), test_samples(-2048, 2047, 30), 212);
    Annotation a;
    a.sample = 7;
    a.aux = "(AFIB";
    write_annotations(dir.path() / "nohea.atr", {a});
    const std::string bin = std::string(ECGBENCH_BINARY_DIR) + "/ecgbench wfdb ";
    const auto rec = (dir.path() / "cli").string();

    auto [rows, rc] = run_command(bin + "read " + rec + " -f s2 -t s5 -s 1 0 -P");
    EXPECT_EQ(rc, 0) << rows;
    std::ostringstream expected;
    write_rdsamp(expected, read_signals(rec, range(2, 5, {1, 0})), true);
    EXPECT_EQ(rows, expected.str());

    // No header: rdann's default of 250 Hz applies.
    auto [ann, rc2] = run_command(bin + "ann " + (dir.path() / "nohea").string() + " atr");
    EXPECT_EQ(rc2, 0) << ann;
    EXPECT_EQ(ann, "    0:00.028        7     N    0    0    0\t(AFIB\n");
}

// ---------------------------------------------------------------------------------------------
// Reference comparisons (shared data): wfdb-python's TestRecord cases

TEST(WfdbReference, Record1aFormat16Digital) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("test01_00s"), {}, false, false, target("record-1a"));
}

TEST(WfdbReference, Record1bByteOffsetChannelReorderPhysical) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("a103l"), range(12500, 40000, {2, 0}), true, false, target("record-1b"), true);
}

TEST(WfdbReference, Record1cByteOffsetDigitalFrom) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("a103l"), range(20000, std::nullopt, {0, 1}), false, false, target("record-1c"), true);
}

TEST(WfdbReference, Record1dFormat80Physical) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("3000003_0003"), range(125, 1000, {1}), true, false, target("record-1d"));
}

TEST(WfdbReference, Record1fEveryBinaryFormat) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("binformats"), {}, false, false, target("record-1f.gz"));
}

TEST(WfdbReference, Record1fSampleRangeSweep) {
    REQUIRE_SHARED_DATA();
    // As wfdb-python: every start 0..2 with every end len-3..len-1, all formats (8 included:
    // differences are always decoded from the file start).
    const auto full = read_signals(sample("binformats"));
    for (std::int64_t from = 0; from < 3; ++from)
        for (std::int64_t to = full.rows - 3; to < full.rows; ++to) {
            const auto part = read_signals(sample("binformats"), range(from, to));
            for (std::size_t s = 0; s < full.digital.size(); ++s)
                ASSERT_EQ(part.digital[s], std::vector<std::int32_t>(full.digital[s].begin() + from,
                                                                     full.digital[s].begin() + to))
                    << "signal " << s << " [" << from << ", " << to << ")";
        }
}

TEST(WfdbReference, BinformatsMatchTheGeneratingFormula) {
    REQUIRE_SHARED_DATA();
    const auto d = read_signals(sample("binformats"));
    // Signal 0 (format 8) is skipped: first differences saturate at +-127, so the stored signal
    // is not the formula's (the reference rdsamp output agrees with our decoding, see Record1f).
    for (std::size_t i = 1; i < d.digital.size(); ++i) {
        const int bits = d.signals[i].adc_resolution;
        const std::int64_t modulus = (std::int64_t{1} << bits) - 1;
        for (std::int64_t j = 0; j < d.rows; ++j) {
            const std::int64_t expected = (static_cast<std::int64_t>(i) + 16843019 * j) % modulus + 1 -
                                          (std::int64_t{1} << (bits - 1));
            ASSERT_EQ(d.digital[i][static_cast<std::size_t>(j)], expected) << "signal " << i << " sample " << j;
        }
    }
}

TEST(WfdbReference, Record2aFormat212Physical) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("100"), {}, true, false, target10("record-2a.gz"), true);
}

TEST(WfdbReference, Record2bFormat212RangeAndChannel) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("100"), range(1, 10800, {1}), false, false, target("record-2b"));
}

TEST(WfdbReference, Record2cOddLength212Physical) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("100_3chan"), {}, true, false, target("record-2c"));
}

TEST(WfdbReference, Record2dFormat310) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("310derive"), range(2, std::nullopt), false, false, target("record-2d"));
}

TEST(WfdbReference, Record2eFormat311Physical) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("311derive"), range(1, 978), true, false, target("record-2e"));
}

TEST(WfdbReference, PackedFormatsEndingInsideABlock) {
    REQUIRE_SHARED_DATA();
    for (const char* r : {"310derive_3", "311derive_3", "311derive_4"})
        expect_rdsamp(sample(r), {}, false, true, target10(std::string(r) + ".txt"));
}

TEST(WfdbReference, Record3aTwoSignalFiles) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("s0010_re"), {}, false, false, target10("record-3a.gz"), true);
}

TEST(WfdbReference, Record3bRepeatedAndReorderedChannels) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("s0010_re"), range(5000, 38000, {13, 0, 4, 8, 3}), true, false, target("record-3b"), true);
}

TEST(WfdbReference, Record4aSkewAndFramesAveraged) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("test01_00s_skewframe"), {}, false, false, target10("record-4a-rounded"));
}

TEST(WfdbReference, Record4bFourSamplesPerFrameAveraged) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("03700181"), {}, false, false, target10("record-4b-rounded.gz"), true);
}

TEST(WfdbReference, Record4cAveragedPhysicalRange) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("03700181"), range(1000, 16000, {0, 2}), true, false, target10("record-4c-rounded.gz"), true);
}

TEST(WfdbReference, Record4dHighResolutionPhysical) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("test01_00s_skewframe"), high_res(), true, false, target("record-4d"));
}

TEST(WfdbReference, FrameAndSkewVariantsWithSampleColumn) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("test01_00s_frame"), high_res(), false, true, target10("test01_00s_frame-H.txt"));
    expect_rdsamp(sample("test01_00s_skew"), {}, false, true, target10("test01_00s_skew.txt"));
    expect_rdsamp(sample("100"), range(0, 2000), false, true, target10("100-head.txt"));
    expect_rdsamp(sample("100skew"), range(0, 2000), false, true, target10("100skew-head.txt"));
}

TEST(WfdbReference, Format61AndInvalid212Samples) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("p10143"), {}, false, true, target10("p10143.gz"), true);
    expect_rdsamp(sample("v102s"), {}, false, true, target10("v102s.gz"), true);
}

TEST(WfdbReference, LengthInferredFromFileSize) {
    REQUIRE_SHARED_DATA();
    const auto tail = read_signals(sample("100-no-len"), range(649990, std::nullopt));
    EXPECT_EQ(tail.rows, 10);
    EXPECT_EQ(tail.digital, read_signals(sample("100"), range(649990, 650000)).digital);
    EXPECT_EQ(read_signals(sample("a103l-no-len")).digital, read_signals(sample("a103l")).digital);
}

TEST(WfdbReference, ChecksumsOfPlainRecordsMatchTheirHeaders) {
    REQUIRE_SHARED_DATA();
    for (const char* r : {"100", "s0010_re", "test01_00s", "a103l", "3000003_0003", "binformats", "p10143", "flacformats",
                          "310derive", "310derive_2", "311derive", "311derive_2", "100_3chan", "310derive_3",
                          "311derive_3", "311derive_4"}) {
        const auto h = read_header(sample(r));
        auto o = range(0, std::nullopt);
        // WFDB's length ignores nothing here: these records have no skew.
        const auto d = read_signals(h, o);
        for (std::size_t s = 0; s < d.digital.size(); ++s) {
            std::uint16_t sum = 0;
            for (auto v : d.digital[s]) sum = static_cast<std::uint16_t>(sum + static_cast<std::uint32_t>(v));
            EXPECT_EQ(sum, static_cast<std::uint16_t>(*h.signals[s].checksum)) << r << " signal " << s;
        }
    }
}

TEST(WfdbReference, FlacFormats) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("flacformats"), {}, false, false, target("record-flac.gz"));
    const auto full = read_signals(sample("flacformats"));
    for (std::int64_t from = 0; from < 3; ++from)
        for (std::int64_t to = full.rows - 3; to < full.rows; ++to) {
            const auto part = read_signals(sample("flacformats"), range(from, to));
            for (std::size_t s = 0; s < full.digital.size(); ++s)
                ASSERT_EQ(part.digital[s], std::vector<std::int32_t>(full.digital[s].begin() + from,
                                                                     full.digital[s].begin() + to));
        }
}

// flacformats copied into a temp dir with one byte of `file` flipped; the read's error message.
std::string flac_error_after_flip(const TempDir& dir, const std::string& file, std::int64_t byte_from_end) {
    for (const char* name : {"flacformats.hea", "flacformats.d0", "flacformats.d1", "flacformats.d2"}) {
        fs::copy_file(sample(name), dir.path() / name);
        fs::permissions(dir.path() / name, fs::perms::owner_write, fs::perm_options::add);
    }
    const auto path = dir.path() / file;
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = byte_from_end < 0 ? static_cast<std::int64_t>(fs::file_size(path)) + byte_from_end : byte_from_end;
    f.seekg(at);
    const char byte = static_cast<char>(f.get() ^ 0x10);
    f.seekp(at);
    f.put(byte);
    f.close();
    return error_of([&] { read_signals(dir.path() / "flacformats"); });
}

// libFLAC checks every frame's CRC: one flipped byte inside the last frame of the 516 file.
TEST(WfdbReference, FlacCorruptFrameNamesTheFile) {
    REQUIRE_SHARED_DATA();
    TempDir dir;
    const auto e = flac_error_after_flip(dir, "flacformats.d1", -40);
    EXPECT_NE(e.find((dir.path() / "flacformats.d1").string() + ": FLAC frame CRC mismatch"), std::string::npos) << e;
}

// STREAMINFO's MD5 signature (bytes 26-41) altered: every frame is intact, the whole-stream check fails.
TEST(WfdbReference, FlacMd5MismatchNamesTheFile) {
    REQUIRE_SHARED_DATA();
    TempDir dir;
    const auto e = flac_error_after_flip(dir, "flacformats.d0", 30);
    EXPECT_NE(e.find((dir.path() / "flacformats.d0").string() + ": FLAC MD5 signature mismatch"), std::string::npos)
        << e;
}

TEST(WfdbReference, FlacConstantBeyond2To24Samples) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("flac_3_constant"), range(0, 1000), true, true, target10("flac_3_constant-head.txt"));
    expect_rdsamp(sample("flac_3_constant"), range(5599000, std::nullopt), true, true,
                  target10("flac_3_constant-tail.txt"));
}

TEST(WfdbReference, FlacMultiFileMultiRate) {
    REQUIRE_SHARED_DATA();
    expect_rdsamp(sample("mixedsignals"), {}, false, true, target10("mixedsignals.gz"), true);
    expect_rdsamp(sample("mixedsignals"), high_res(), false, true, target10("mixedsignals-H.gz"), true);
}

// wfdb-python's TestMultiRecord cases

TEST(WfdbReference, MultiSegmentFixedLayout) {
    REQUIRE_SHARED_DATA();
    const auto ms = sample("multi-segment");
    expect_rdsamp(ms / "fixed1/v102s", range(0, 75000), true, false, target10("record-multi-fixed-b.gz"), true);
    expect_rdsamp(ms / "fixed1/v102s", range(70000, 80000, {1, 0, 3}), true, false, target("record-multi-fixed-c"));
    // record-multi-fixed-d was piped through sed s/-32768/-2048/ (first match per line only).
    auto o = high_res();
    o.signals = {3, 2, 1};
    const auto d = read_signals(ms / "041s/041s", o);
    auto lines = rdsamp_lines(d, false, false, std::string::npos);
    for (auto& line : lines)
        if (const auto p = line.find("-32768"); p != std::string::npos) line.replace(p, 6, "-2048");
    EXPECT_EQ("", first_difference(lines, reference_lines(target("record-multi-fixed-d.gz"), std::string::npos)));
}

TEST(WfdbReference, MultiSegmentVariableLayout) {
    REQUIRE_SHARED_DATA();
    const auto ms = sample("multi-segment");
    expect_rdsamp(ms / "s00001/s00001-2896-10-10-00-31", range(14428365, 14428375), true, false,
                  target("record-multi-variable-a"));
    // record-multi-variable-d had -32768 rewritten as "  -128" by perl (every match).
    const auto d = read_signals(ms / "p000878/p000878-2137-10-26-16-57", range(3550, 7500, {0, 1}));
    auto lines = rdsamp_lines(d, false, false, std::string::npos);
    for (auto& line : lines)
        for (auto p = line.find("-32768"); p != std::string::npos; p = line.find("-32768")) line.replace(p, 6, "  -128");
    EXPECT_EQ("", first_difference(lines, reference_lines(target("record-multi-variable-d"), std::string::npos)));
}

TEST(WfdbReference, MultiSegmentNullSegmentsAreInvalid) {
    REQUIRE_SHARED_DATA();
    // s00001 starts with a 3261-sample null segment, then 3975656_0001 (II and V only).
    const auto d = read_signals(sample("multi-segment/s00001/s00001-2896-10-10-00-31"), range(3255, 3270));
    ASSERT_EQ(d.digital.size(), 4u);
    for (std::size_t s = 0; s < 4; ++s) EXPECT_EQ(d.digital[s][0], kInvalidSample);
    EXPECT_NE(d.digital[0][6], kInvalidSample);
    EXPECT_EQ(d.digital[2][6], kInvalidSample);  // MCL1 is absent from that segment
    EXPECT_TRUE(std::isnan(d.physical(3, 10)));
}

TEST(WfdbReference, MultiVariableSegmentsConcatenated) {
    REQUIRE_SHARED_DATA();
    std::vector<std::string> lines;
    for (int i = 1; i <= 18 && lines.size() < kMaxRows; ++i) {
        const auto name = std::string("3234460_00") + (i < 10 ? "0" : "") + std::to_string(i);
        const auto part = rdsamp_lines(read_signals(sample("multi-segment/s25047/" + name)), true, false);
        lines.insert(lines.end(), part.begin(), part.end());
    }
    lines.resize(std::min(lines.size(), kMaxRows));
    EXPECT_EQ("", first_difference(lines, reference_lines(target10("record-multi-variable-c.gz"), lines.size())));
}

// wfdb-python's test_annotation cases and the extra detector outputs

TEST(WfdbReference, Annotations100Atr) {
    REQUIRE_SHARED_DATA();
    expect_rdann(sample("100"), "atr", target("ann-1"));
    const auto anns = read_annotations(sample("100.atr"));
    ASSERT_EQ(anns.size(), 2274u);
    EXPECT_EQ(anns[0].aux, std::string("(N\0", 3));  // stored with its NUL, as wfdb-python notes
}

TEST(WfdbReference, AnnotationsAuxHeavyAndCustomLabels) {
    REQUIRE_SHARED_DATA();
    expect_rdann(sample("12726"), "anI", target("ann-2"));
    expect_rdann(sample("1003"), "atr", target("ann-3"));
    expect_rdann(sample("12726"), "wabp", target10("ann-12726-wabp.txt"));
    expect_rdann(sample("12726"), "wqrs", target10("ann-12726-wqrs.txt"));
}

TEST(WfdbReference, AnnotationsDetectorsAndTimeResolution) {
    REQUIRE_SHARED_DATA();
    expect_rdann(sample("100"), "qrs", target10("ann-100-qrs.txt"));
    for (const char* a : {"gqrsh", "gqrsl", "sqrs"})
        expect_rdann(sample("03700181"), a, target10(std::string("ann-03700181-") + a + ".txt"));
    expect_rdann(sample("huge"), "qrs", target10("ann-huge-qrs.txt"));
    EXPECT_EQ(read_annotations(sample("huge.qrs")).at(0).sample, 10000000000LL);
}

TEST(WfdbReference, AnnotationWriterRoundTripsRealFiles) {
    REQUIRE_SHARED_DATA();
    for (const char* f : {"100.atr", "12726.anI", "1003.atr", "huge.qrs", "100.qrs", "03700181.sqrs"}) {
        const auto anns = read_annotations(sample(f));
        expect_same_annotations(parse_annotations(encode_annotations(anns), f), anns);
    }
}

TEST(WfdbReference, WfdbdescForEverySingleSegmentHeader) {
    REQUIRE_SHARED_DATA();
    for (const auto& entry : fs::directory_iterator(target10(""))) {
        const auto name = entry.path().filename().string();
        if (name.rfind("wfdbdesc-", 0) != 0) continue;
        const auto record = name.substr(9, name.size() - 9 - 4);
        const auto text = format_wfdbdesc(read_header(sample(record)), "sample-data/" + record);
        EXPECT_EQ("", first_difference(split_lines(text), reference_lines(entry.path(), std::string::npos))) << name;
    }
}

TEST(WfdbReference, RecordRoundTripThroughWriter) {
    REQUIRE_SHARED_DATA();
    TempDir dir;
    for (const auto& [record, format] : {std::pair{"100", 212}, std::pair{"test01_00s", 16}}) {
        const auto h = read_header(sample(record));
        const auto d = read_signals(h, range(0, std::min<std::int64_t>(5001, *h.nsamp)));
        write_record(dir.path() / record, h, d.digital, format);
        EXPECT_EQ(read_signals(dir.path() / record).digital, d.digital) << record;
    }
}

// LUDB and torch_ecg records (WFDB 10.7.0 references)

TEST(WfdbReference, LudbSignalsAnnotationsAndHeaders) {
    REQUIRE_SHARED_DATA();
    const auto data = shared_data() / "ludb" / "data";
    const auto ref = shared_data() / "ludb" / "reference-wfdb-10.7.0";
    for (const std::string& r : std::vector<std::string>{"1", "8"}) {
        expect_rdsamp(data / r, {}, false, true, ref / (r + ".rdsamp.txt.gz"));
        expect_rdsamp(data / r, {}, true, true, ref / (r + ".rdsamp-P.txt.gz"));
        EXPECT_EQ("", first_difference(split_lines(format_wfdbdesc(read_header(data / r), r)),
                                       reference_lines(ref / (r + ".wfdbdesc.txt"), std::string::npos)));
        for (const std::string& lead :
             std::vector<std::string>{"i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"})
            expect_rdann(data / r, lead, ref / (r + ".rdann-" + lead + ".txt"));
    }
}

TEST(WfdbReference, TorchEcgCinc2021AndCpsc2021) {
    REQUIRE_SHARED_DATA();
    const auto root = shared_data() / "torch_ecg";
    for (const std::string& set : std::vector<std::string>{"cinc2021", "cpsc2021"})
        for (const auto& entry : fs::directory_iterator(root / set)) {
            if (entry.path().extension() != ".hea") continue;
            const auto r = entry.path().stem().string();
            const auto rec = root / set / r;
            const auto ref = root / "reference-wfdb-10.7.0" / set;
            expect_rdsamp(rec, {}, false, true, ref / (r + ".rdsamp.txt.gz"), true);
            expect_rdsamp(rec, {}, true, true, ref / (r + ".rdsamp-P.txt.gz"), true);
            EXPECT_EQ("", first_difference(split_lines(format_wfdbdesc(read_header(rec), r)),
                                           reference_lines(ref / (r + ".wfdbdesc.txt"), std::string::npos)));
            if (fs::exists(root / set / (r + ".atr"))) expect_rdann(rec, "atr", ref / (r + ".rdann-atr.txt"));
        }
}

}  // namespace
}  // namespace ecgbench::wfdb
