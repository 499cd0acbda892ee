// What one fuzz input exercises: the parser, then the writer on whatever the parser accepted (a
// parsed header or annotation list must never make the formatter misbehave).
#include "wfdb_fuzz_targets.hpp"

#include "ecgbench/wfdb.hpp"

#include <string_view>

namespace ecgbench::fuzz {

int wfdb_header_input(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto header = wfdb::parse_header(text, "fuzz.hea");
        wfdb::format_header(header);
    } catch (const wfdb::WfdbError&) {
    }
    return 0;
}

int wfdb_annotations_input(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        double resolution = 0;
        const auto annotations = wfdb::parse_annotations(bytes, "fuzz.atr", &resolution);
        wfdb::encode_annotations(annotations);
    } catch (const wfdb::WfdbError&) {
    }
    return 0;
}

}  // namespace ecgbench::fuzz
