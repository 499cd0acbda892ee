// libFuzzer target: WFDB header parsing (see wfdb_fuzz_targets.hpp).
#include "wfdb_fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return ecgbench::fuzz::wfdb_header_input(data, size);
}
