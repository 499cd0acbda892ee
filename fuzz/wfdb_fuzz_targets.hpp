// Entry points shared by the libFuzzer binaries (clang, -DECGBENCH_FUZZ=ON) and the unit test that
// replays the seed corpus with mutations under g++: both run exactly the same code per input.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ecgbench::fuzz {

/// Parses the bytes as a .hea file; a header that parses must format to text that parses back to
/// the same text (else std::logic_error). Returns 0; WfdbError from the first parse is the expected
/// outcome for bad input, anything else escapes (a crash to libFuzzer).
int wfdb_header_input(const std::uint8_t* data, std::size_t size);
/// Parses the bytes as an MIT annotation file and, when that succeeds, encodes the result again.
int wfdb_annotations_input(const std::uint8_t* data, std::size_t size);
/// Header text, a NUL byte, then the bytes of the one signal file every signal line is pointed
/// at (written to a per-process temp folder): a header that parses is read whole (at most
/// kSignalFuzzFrames frames), in part and at high resolution, through the bulk and the general
/// decoders, digital and physical. Reads must throw only WfdbError, and agree with each other
/// (a part equals the slice of the whole, bulk equals general, read_physical equals the
/// per-sample conversion), else std::logic_error.
int wfdb_signals_input(const std::uint8_t* data, std::size_t size);
inline constexpr std::int64_t kSignalFuzzFrames = 2048;

}  // namespace ecgbench::fuzz
