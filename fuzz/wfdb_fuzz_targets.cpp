// What one fuzz input exercises: the parser, then the writer on whatever the parser accepted (a
// parsed header or annotation list must never make the writer misbehave, and headers must survive
// a format/parse round trip).
#include "wfdb_fuzz_targets.hpp"

#include "ecgbench/wfdb.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace ecgbench::fuzz {

int wfdb_header_input(const std::uint8_t* data, std::size_t size) {
    wfdb::Header header;
    try {
        header = wfdb::parse_header(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.hea");
    } catch (const wfdb::WfdbError&) {
        return 0;
    }
    // write_record relies on format_header's text parsing back to the same header.
    const auto formatted = wfdb::format_header(header);
    try {
        if (wfdb::format_header(wfdb::parse_header(formatted, "formatted.hea")) == formatted) return 0;
    } catch (const wfdb::WfdbError& e) {
        throw std::logic_error("formatted header does not parse: " + std::string(e.what()) + "\n" + formatted);
    }
    throw std::logic_error("formatted header does not parse back to itself:\n" + formatted);
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
