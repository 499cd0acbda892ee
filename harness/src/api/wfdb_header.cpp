// WFDB header (.hea) parsing and formatting: record line, signal lines, segment lines, comments.
// Every rejected field is reported as "file:line: what", so a bad header is easy to fix by hand.
#include "ecgbench/wfdb.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace ecgbench::wfdb {
namespace {

// Upper bounds that no real record reaches; beyond them a header is assumed corrupt rather than
// letting a huge allocation or loop follow.
constexpr int kMaxSignals = 10000;
constexpr int kMaxSegments = 1000000;
constexpr int kMaxSamplesPerFrame = 100000;

const std::set<int> kKnownFormats = {0, 8, 16, 24, 32, 61, 80, 160, 212, 310, 311, 508, 516, 524};

struct LineContext {
    const std::string& source;
    int line;
    [[noreturn]] void fail(const std::string& what) const {
        throw WfdbError(source + ":" + std::to_string(line) + ": " + what);
    }
};

// Field separators; a stray CR inside a line separates too, so no field keeps one (a CR kept in
// the base time would not survive format_header's round trip: found by fuzz_wfdb_header).
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string> split_fields(std::string_view line) {
    std::vector<std::string> fields;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) ++i;
        std::size_t start = i;
        while (i < line.size() && !is_blank(line[i])) ++i;
        if (i > start) fields.emplace_back(line.substr(start, i - start));
    }
    return fields;
}

std::int64_t parse_int(std::string_view text, const LineContext& ctx, const char* what) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        ctx.fail(std::string("bad ") + what + " '" + std::string(text) + "'");
    return value;
}

double parse_double(std::string_view text, const LineContext& ctx, const char* what) {
    std::string copy(text);
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(copy.c_str(), &end);
    if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(value))
        ctx.fail(std::string("bad ") + what + " '" + copy + "'");
    return value;
}

std::int32_t parse_int32(std::string_view text, const LineContext& ctx, const char* what) {
    const auto v = parse_int(text, ctx, what);
    if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
        ctx.fail(std::string(what) + " out of range '" + std::string(text) + "'");
    return static_cast<std::int32_t>(v);
}

// "fs[/counter[(base)]]"
void parse_frequency(const std::string& field, Header& h, const LineContext& ctx) {
    const auto slash = field.find('/');
    h.fs = parse_double(field.substr(0, slash), ctx, "sampling frequency");
    if (h.fs <= 0) ctx.fail("sampling frequency must be positive, got '" + field + "'");
    h.fs_given = true;
    if (slash == std::string::npos) return;
    std::string counter = field.substr(slash + 1);
    const auto paren = counter.find('(');
    if (paren != std::string::npos) {
        if (counter.back() != ')') ctx.fail("bad base counter in '" + field + "'");
        h.base_counter = parse_double(counter.substr(paren + 1, counter.size() - paren - 2), ctx, "base counter");
        counter = counter.substr(0, paren);
    }
    h.counter_freq = parse_double(counter, ctx, "counter frequency");
    if (h.counter_freq <= 0) ctx.fail("counter frequency must be positive, got '" + field + "'");
}

void parse_record_line(const std::vector<std::string>& f, Header& h, const LineContext& ctx) {
    const auto slash = f[0].find('/');
    h.name = f[0].substr(0, slash);
    if (h.name.empty()) ctx.fail("empty record name");
    if (slash != std::string::npos) {
        const auto n = parse_int(f[0].substr(slash + 1), ctx, "segment count");
        if (n <= 0 || n > kMaxSegments) ctx.fail("segment count out of range: " + std::to_string(n));
        h.nsegments = static_cast<int>(n);
    }
    if (f.size() > 1) {
        const auto n = parse_int(f[1], ctx, "signal count");
        if (n < 0 || n > kMaxSignals) ctx.fail("signal count out of range: " + std::to_string(n));
        h.nsig = static_cast<int>(n);
    }
    if (f.size() > 2) parse_frequency(f[2], h, ctx);
    if (f.size() > 3) {
        const auto n = parse_int(f[3], ctx, "sample count");
        if (n < 0) ctx.fail("negative sample count: " + f[3]);
        h.nsamp = n;
    }
    // Time may be followed by a date; a lone "dd/mm/yyyy" field is a date.
    for (std::size_t i = 4; i < f.size() && i < 6; ++i) {
        if (f[i].find('/') != std::string::npos) h.base_date = f[i];
        else h.base_time = f[i];
    }
}

// "format[xspf][:skew][+offset]"
void parse_format_field(const std::string& field, SignalInfo& s, const LineContext& ctx) {
    std::size_t end = 0;
    while (end < field.size() && std::isdigit(static_cast<unsigned char>(field[end]))) ++end;
    s.format = static_cast<int>(parse_int(field.substr(0, end), ctx, "storage format"));
    if (!kKnownFormats.count(s.format)) ctx.fail("unknown storage format " + std::to_string(s.format));
    while (end < field.size()) {
        const char tag = field[end++];
        std::size_t stop = end;
        while (stop < field.size() && std::isdigit(static_cast<unsigned char>(field[stop]))) ++stop;
        const auto value = parse_int(field.substr(end, stop - end), ctx, "format suffix");
        if (tag == 'x') {
            if (value < 1 || value > kMaxSamplesPerFrame) ctx.fail("samples per frame out of range in '" + field + "'");
            s.samples_per_frame = static_cast<int>(value);
        } else if (tag == ':') {
            if (value < 0 || value > std::numeric_limits<int>::max()) ctx.fail("bad skew in '" + field + "'");
            s.skew = static_cast<int>(value);
        } else if (tag == '+') {
            if (value < 0) ctx.fail("bad byte offset in '" + field + "'");
            s.byte_offset = value;
        } else {
            ctx.fail("bad storage format field '" + field + "'");
        }
        end = stop;
    }
}

// "gain[(baseline)][/units]"
void parse_gain_field(const std::string& field, SignalInfo& s, bool& baseline_given, const LineContext& ctx) {
    std::string rest = field;
    const auto slash = rest.find('/');
    if (slash != std::string::npos) {
        s.units = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    const auto paren = rest.find('(');
    if (paren != std::string::npos) {
        if (rest.back() != ')') ctx.fail("bad baseline in '" + field + "'");
        s.baseline = parse_int32(rest.substr(paren + 1, rest.size() - paren - 2), ctx, "baseline");
        baseline_given = true;
        rest = rest.substr(0, paren);
    }
    const double gain = parse_double(rest, ctx, "ADC gain");
    if (gain < 0) ctx.fail("negative ADC gain '" + field + "'");
    s.gain_given = gain != 0;
    s.gain = gain != 0 ? gain : 200.0;
}

// Text after the 8th field, verbatim (descriptions may hold spaces, even trailing ones).
std::string description_after_fields(std::string_view line, int fields) {
    std::size_t i = 0;
    for (int k = 0; k < fields; ++k) {
        while (i < line.size() && is_blank(line[i])) ++i;
        while (i < line.size() && !is_blank(line[i])) ++i;
    }
    if (i < line.size()) ++i;  // the single separator
    return std::string(line.substr(std::min(i, line.size())));
}

SignalInfo parse_signal_line(std::string_view line, const LineContext& ctx) {
    const auto f = split_fields(line);
    SignalInfo s;
    s.file_name = f[0];
    if (f.size() < 2) ctx.fail("signal line without a storage format");
    parse_format_field(f[1], s, ctx);
    bool baseline_given = false;
    if (f.size() > 2) parse_gain_field(f[2], s, baseline_given, ctx);
    if (f.size() > 3) {
        const auto bits = parse_int(f[3], ctx, "ADC resolution");
        if (bits < 0 || bits > 32) ctx.fail("ADC resolution out of range: " + f[3]);
        s.adc_resolution = static_cast<int>(bits);
    }
    if (f.size() > 4) s.adc_zero = parse_int32(f[4], ctx, "ADC zero");
    s.initial_value = f.size() > 5 ? parse_int32(f[5], ctx, "initial value") : s.adc_zero;
    if (f.size() > 6) s.checksum = parse_int32(f[6], ctx, "checksum");
    if (f.size() > 7) {
        const auto b = parse_int(f[7], ctx, "block size");
        if (b < 0 || b > std::numeric_limits<int>::max()) ctx.fail("bad block size: " + f[7]);
        s.block_size = static_cast<int>(b);
    }
    if (f.size() > 8) s.description = description_after_fields(line, 8);
    if (!baseline_given) s.baseline = s.adc_zero;
    return s;
}

SegmentInfo parse_segment_line(const std::vector<std::string>& f, const LineContext& ctx) {
    if (f.size() < 2) ctx.fail("segment line needs a name and a length");
    const auto n = parse_int(f[1], ctx, "segment length");
    if (n < 0) ctx.fail("negative segment length: " + f[1]);
    return {f[0], n};
}

std::string strip_line_end(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    return std::string(line);
}

std::string format_number(double v) {
    std::ostringstream out;
    out.precision(12);
    out << v;
    return out.str();
}

}  // namespace

int Header::max_samples_per_frame() const {
    int m = 1;
    for (const auto& s : signals) m = std::max(m, s.samples_per_frame);
    return m;
}

Header parse_header(std::string_view text, const std::string& source) {
    Header h;
    bool have_record = false;
    int line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        const auto line = strip_line_end(text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos));
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++line_no;
        const LineContext ctx{source, line_no};
        const auto first = line.find_first_not_of(" \t\r");  // the field separators (is_blank)
        if (first == std::string::npos) continue;
        if (line[first] == '#') {
            h.comments.push_back(line.substr(first + 1));
            if (!have_record) h.leading_comments = h.comments.size();
            continue;
        }
        const auto fields = split_fields(line);
        if (!have_record) {
            parse_record_line(fields, h, ctx);
            have_record = true;
        } else if (h.multi_segment() && static_cast<int>(h.segments.size()) < h.nsegments) {
            h.segments.push_back(parse_segment_line(fields, ctx));
        } else if (!h.multi_segment() && static_cast<int>(h.signals.size()) < h.nsig) {
            h.signals.push_back(parse_signal_line(line, ctx));
        } else {
            ctx.fail("unexpected line (all " + std::to_string(h.multi_segment() ? h.nsegments : h.nsig) +
                     (h.multi_segment() ? " segments" : " signals") + " already read)");
        }
    }
    const LineContext end{source, line_no};
    if (!have_record) end.fail("no record line");
    if (h.multi_segment() && static_cast<int>(h.segments.size()) != h.nsegments)
        end.fail("expected " + std::to_string(h.nsegments) + " segment lines, found " + std::to_string(h.segments.size()));
    if (!h.multi_segment() && static_cast<int>(h.signals.size()) != h.nsig)
        end.fail("expected " + std::to_string(h.nsig) + " signal lines, found " + std::to_string(h.signals.size()));
    return h;
}

Header read_header(const std::filesystem::path& record) {
    auto path = record;
    path += ".hea";
    std::ifstream in(path, std::ios::binary);
    if (!in) throw WfdbError("cannot open header " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    Header h = parse_header(text.str(), path.string());
    h.directory = path.parent_path();
    return h;
}

std::string format_header(const Header& h) {
    std::ostringstream out;
    out << h.name;
    if (h.multi_segment()) out << "/" << h.nsegments;
    out << " " << h.nsig << " " << format_number(h.fs);
    if (h.counter_freq > 0) {
        out << "/" << format_number(h.counter_freq);
        if (h.base_counter != 0) out << "(" << format_number(h.base_counter) << ")";
    }
    if (h.nsamp) out << " " << *h.nsamp;
    if (!h.base_time.empty()) out << " " << h.base_time;
    if (!h.base_date.empty()) out << " " << h.base_date;
    out << "\n";
    for (const auto& seg : h.segments) out << seg.name << " " << seg.length << "\n";
    for (const auto& s : h.signals) {
        out << s.file_name << " " << s.format;
        if (s.samples_per_frame > 1) out << "x" << s.samples_per_frame;
        if (s.skew > 0) out << ":" << s.skew;
        if (s.byte_offset > 0) out << "+" << s.byte_offset;
        out << " " << format_number(s.gain);
        if (s.baseline != s.adc_zero) out << "(" << s.baseline << ")";
        out << "/" << s.units << " " << s.adc_resolution << " " << s.adc_zero << " " << s.initial_value << " "
            << s.checksum.value_or(0) << " " << s.block_size;
        if (!s.description.empty()) out << " " << s.description;
        out << "\n";
    }
    for (const auto& c : h.comments) out << "#" << c << "\n";
    return out.str();
}

}  // namespace ecgbench::wfdb
