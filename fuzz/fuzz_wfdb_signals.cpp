// libFuzzer target: WFDB signal decoding, every storage format incl. FLAC (see wfdb_fuzz_targets.hpp).
#include "wfdb_fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return ecgbench::fuzz::wfdb_signals_input(data, size);
}
