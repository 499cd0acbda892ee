// Entry points shared by the libFuzzer binaries (clang, -DECGBENCH_FUZZ=ON) and the unit test that
// replays the seed corpus with mutations under g++: both run exactly the same code per input.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ecgbench::fuzz {

/// Parses the bytes as a .hea file and, when that succeeds, formats the header again. Returns 0;
/// WfdbError is the expected outcome for bad input, anything else escapes (a crash to libFuzzer).
int wfdb_header_input(const std::uint8_t* data, std::size_t size);
/// Parses the bytes as an MIT annotation file and, when that succeeds, encodes the result again.
int wfdb_annotations_input(const std::uint8_t* data, std::size_t size);

}  // namespace ecgbench::fuzz
