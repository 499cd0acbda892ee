// What one fuzz input exercises: the parser, then the writer on whatever the parser accepted (a
// parsed header or annotation list must never make the writer misbehave, and headers must survive
// a format/parse round trip).
#include "wfdb_fuzz_targets.hpp"

#include "api/wfdb_bulk.hpp"
#include "ecgbench/wfdb.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <unistd.h>

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

namespace {

// Where this process writes the signal file of each input (removed at exit).
const std::filesystem::path& work_dir() {
    struct Dir {
        std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("ecgbench-fuzz-signals-" + std::to_string(::getpid()));
        Dir() { std::filesystem::create_directories(path); }
        ~Dir() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    };
    static const Dir dir;
    return dir.path;
}

// The read, or nullopt when it throws WfdbError (anything else escapes).
std::optional<wfdb::SignalData> try_read(const wfdb::Header& h, const wfdb::ReadOptions& o, bool bulk = true) {
    wfdb::detail::set_bulk_decode(bulk);
    try {
        auto d = wfdb::read_signals(h, o);
        wfdb::detail::set_bulk_decode(true);
        return d;
    } catch (const wfdb::WfdbError&) {
        wfdb::detail::set_bulk_decode(true);
        return std::nullopt;
    }
}

void require(bool ok, const std::string& what) {
    if (!ok) throw std::logic_error("signal reads disagree: " + what);
}

template <typename T>
void require_physical_matches(const wfdb::Header& h, const wfdb::ReadOptions& o, wfdb::Layout layout,
                              const wfdb::SignalData& d) {
    const auto m = wfdb::read_physical<T>(h, o, layout);
    require(m.rows == d.rows && m.signals.size() == d.signals.size(), "read_physical shape");
    for (std::size_t s = 0; s < d.signals.size(); ++s)
        for (std::int64_t r = 0; r < d.rows; ++r) {
            const T want = static_cast<T>(d.physical(s, r)), got = m.at(r, s);
            require(got == want || (std::isnan(got) && std::isnan(want)), "read_physical value");
        }
}

}  // namespace

int wfdb_signals_input(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto split = bytes.find('\0');
    if (split == std::string_view::npos) return 0;
    wfdb::Header h;
    try {
        h = wfdb::parse_header(bytes.substr(0, split), "fuzz.hea");
    } catch (const wfdb::WfdbError&) {
        return 0;
    }
    // Multi-segment records would need more headers; the caps keep one input's memory small.
    if (h.multi_segment() || h.nsig > 16) return 0;
    bool flac = false;
    for (auto& sig : h.signals) {
        if (sig.samples_per_frame > 16) return 0;
        sig.file_name = "fuzz.dat";
        flac = flac || sig.format == 508 || sig.format == 516 || sig.format == 524;
    }
    // Without a length, a plain file's length follows from its size (bounded by the input), a
    // FLAC stream's from its STREAMINFO (any number): cap that one too.
    if (h.nsamp || flac) h.nsamp = std::min(h.nsamp.value_or(kSignalFuzzFrames), kSignalFuzzFrames);
    h.directory = work_dir();
    {
        std::ofstream out(h.directory / "fuzz.dat", std::ios::binary | std::ios::trunc);
        out.write(bytes.data() + split + 1, static_cast<std::streamsize>(size - split - 1));
    }
    wfdb::ReadOptions whole;
    const auto d = try_read(h, whole);
    if (!d) return 0;
    if (std::any_of(h.signals.begin(), h.signals.end(), [](const auto& sig) { return sig.format == 16 || sig.format == 212; })) {
        const auto general = try_read(h, whole, false);
        require(general && general->digital == d->digital, "bulk vs general decoder");
    }
    require_physical_matches<float>(h, whole, wfdb::Layout::frames, *d);
    require_physical_matches<double>(h, whole, wfdb::Layout::signals, *d);

    // A part, signals reversed: the same samples as the slice of the whole read.
    wfdb::ReadOptions part;
    part.from = d->rows / 3;
    part.to = d->rows / 2 + 1 > d->rows ? d->rows : d->rows / 2 + 1;
    for (int s = h.nsig - 1; s >= 0; --s) part.signals.push_back(s);
    const auto p = try_read(h, part);
    require(p.has_value(), "a part of a readable record fails");
    for (std::size_t k = 0; k < part.signals.size(); ++k) {
        const auto& col = d->digital[static_cast<std::size_t>(part.signals[k])];
        require(p->digital[k] == std::vector<std::int32_t>(col.begin() + part.from, col.begin() + *part.to),
                "part vs whole");
    }
    require_physical_matches<float>(h, part, wfdb::Layout::signals, *p);

    if (h.max_samples_per_frame() == 1) return 0;
    wfdb::ReadOptions high;
    high.high_resolution = true;
    if (const auto hr = try_read(h, high)) require_physical_matches<double>(h, high, wfdb::Layout::frames, *hr);
    return 0;
}

}  // namespace ecgbench::fuzz
