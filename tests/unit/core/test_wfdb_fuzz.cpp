// Replays the libFuzzer entry points (fuzz/wfdb_fuzz_targets.hpp) under the host compiler, so CI
// exercises them without clang: the seed corpus as fuzz/seed_corpus.sh builds it (with the shared
// data when present), then deterministic mutations of it. As in the fuzzers, an input must parse
// or throw WfdbError (and a parsed header survive a format/parse round trip); anything else
// escapes the entry point and fails the test.
#include "ecgbench/wfdb.hpp"
#include "wfdb_fuzz_targets.hpp"
#include "wfdb_temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace ecgbench::wfdb {
namespace {

namespace fs = std::filesystem;
using Entry = int (*)(const std::uint8_t*, std::size_t);

const fs::path kFuzzDir = fs::path(ECGBENCH_SOURCE_DIR) / "fuzz";

std::string file_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> files_in(const fs::path& dir) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) files.push_back(file_text(entry.path()));
    return files;
}

// fuzz/seed_corpus.sh into `dest`; the shared data folder is used when it exists.
void build_corpus(const fs::path& dest) {
    const auto command = "bash '" + (kFuzzDir / "seed_corpus.sh").string() + "' '" + dest.string() + "' '" +
                         ECGBENCH_SHARED_DATA + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

int run(Entry entry, const std::string& input) {
    return entry(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

// A few thousand inputs derived from the corpus by byte edits, insertions, deletions, cuts and
// duplicated slices: the kinds of damage a truncated download or a bad editor leaves.
void replay_with_mutations(Entry entry, const std::vector<std::string>& corpus, int rounds) {
    std::uint32_t state = 2463534242u;
    auto next = [&] { return state = state * 1664525u + 1013904223u; };
    const std::string interesting("\n\t #/:+x()-.09~\xff\0", 17);  // separators, digits, 0xff, NUL
    for (const auto& input : corpus) EXPECT_EQ(run(entry, input), 0);
    for (int round = 0; round < rounds; ++round) {
        auto input = corpus[next() % corpus.size()].substr(0, 4096);
        for (auto edits = 1 + next() % 4; edits > 0 && !input.empty(); --edits) {
            const auto at = next() % input.size();
            switch (next() % 5) {
            case 0: input[at] = static_cast<char>(next() >> 24); break;
            case 1: input.insert(at, 1, interesting[next() % interesting.size()]); break;
            case 2: input.erase(at, 1 + next() % 8); break;
            case 3: input.resize(at); break;
            default: input.insert(at, input.substr(next() % input.size(), 1 + next() % 16)); break;
            }
        }
        EXPECT_EQ(run(entry, input), 0);
    }
}

// The hand-written seeds are valid inputs, so the mutations start from inside the parsers.
TEST(WfdbFuzz, HandWrittenSeedsParse) {
    for (const auto& entry : fs::directory_iterator(kFuzzDir / "seeds" / "header"))
        EXPECT_NO_THROW(parse_header(file_text(entry.path()), entry.path().string())) << entry.path();
    const auto beats = parse_annotations(file_text(kFuzzDir / "seeds" / "annotations" / "beats.atr"), "beats.atr");
    ASSERT_EQ(beats.size(), 4u);
    EXPECT_EQ(beats[0].aux, "(N");
    EXPECT_EQ(beats[3].sample, 395 + 70000);
    EXPECT_EQ(beats[3].chan, 1);
    double resolution = 0;
    EXPECT_EQ(parse_annotations(file_text(kFuzzDir / "seeds" / "annotations" / "time_resolution.atr"), "t.atr",
                                &resolution)
                  .size(),
              2u);
    EXPECT_EQ(resolution, 1000);
    const auto labelled = parse_annotations(file_text(kFuzzDir / "seeds" / "annotations" / "labels.atr"), "l.atr");
    ASSERT_EQ(labelled.size(), 2u);
    EXPECT_EQ(labelled[1].symbol, "W");
}

// The signal seeds (header, NUL, file bytes) read without error, so mutations start from records
// that decode.
TEST(WfdbFuzz, HandWrittenSignalSeedsRead) {
    TempDir dir;
    int seeds = 0;
    for (const auto& entry : fs::directory_iterator(kFuzzDir / "seeds" / "signals")) {
        const auto input = file_text(entry.path());
        const auto split = input.find('\0');
        ASSERT_NE(split, std::string::npos) << entry.path();
        auto h = parse_header(input.substr(0, split), entry.path().string());
        for (auto& sig : h.signals) sig.file_name = "seed.dat";
        h.directory = dir.path();
        std::ofstream(dir.path() / "seed.dat", std::ios::binary) << input.substr(split + 1);
        EXPECT_GT(read_signals(h).rows, 0) << entry.path();
        ++seeds;
    }
    EXPECT_GE(seeds, 5);
}

TEST(WfdbFuzz, HeaderEntryOnCorpusAndMutations) {
    TempDir dir;
    build_corpus(dir.path());
    const auto corpus = files_in(dir.path() / "header");
    ASSERT_GE(corpus.size(), 4u);
    replay_with_mutations(&fuzz::wfdb_header_input, corpus, 4000);
}

TEST(WfdbFuzz, AnnotationEntryOnCorpusAndMutations) {
    TempDir dir;
    build_corpus(dir.path());
    const auto corpus = files_in(dir.path() / "annotations");
    ASSERT_GE(corpus.size(), 3u);
    replay_with_mutations(&fuzz::wfdb_annotations_input, corpus, 4000);
}

// Inputs that made a fuzzer fail, kept in fuzz/regressions/<target> (also seeds): an OOM of
// fuzz_wfdb_signals (huge skew), and of fuzz_wfdb_header a round-trip failure (CR inside a line)
// and an out-of-range read (a line of CRs only, once CR separated fields).
TEST(WfdbFuzz, RegressionsReplay) {
    int replayed = 0;
    for (const auto& [dir, entry_point] : {std::pair<const char*, Entry>{"signals", &fuzz::wfdb_signals_input},
                                           std::pair<const char*, Entry>{"header", &fuzz::wfdb_header_input}})
        for (const auto& entry : fs::directory_iterator(kFuzzDir / "regressions" / dir)) {
            EXPECT_EQ(run(entry_point, file_text(entry.path())), 0) << entry.path();
            ++replayed;
        }
    EXPECT_GE(replayed, 3);
}

// Every storage format incl. FLAC when the shared data is there (hand-written seeds otherwise).
TEST(WfdbFuzz, SignalEntryOnCorpusAndMutations) {
    TempDir dir;
    build_corpus(dir.path());
    const auto corpus = files_in(dir.path() / "signals");
    ASSERT_GE(corpus.size(), 5u);
    replay_with_mutations(&fuzz::wfdb_signals_input, corpus, 1500);
}

}  // namespace
}  // namespace ecgbench::wfdb
