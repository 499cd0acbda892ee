// rdsamp / rdann / wfdbdesc text layouts (WFDB 10.7.0), byte for byte where the reference files
// show them.
#include "io/wfdb_text.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace ecgbench::wfdb {
namespace {

// WFDB prints invalid digital samples as its own marker, whatever the storage format.
constexpr int kWfdbInvalid = -32768;

std::string printf_string(const char* format, auto... args) {
    char buffer[64];
    const int n = std::snprintf(buffer, sizeof buffer, format, args...);
    return std::string(buffer, static_cast<std::size_t>(std::max(0, std::min<int>(n, sizeof buffer - 1))));
}

std::string pad_left(const std::string& s, std::size_t width) {
    return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

// Days since 1970-01-01 for a civil date, and back (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = y - era * 400;
    const auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, int& m, int& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = z - era * 146097;
    const auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const auto mp = (5 * doy + 2) / 153;
    d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    y = yoe + era * 400 + (m <= 2);
}

// "hh:mm:ss[.fff]" (fields may be omitted from the left) in milliseconds.
std::int64_t parse_time_ms(const std::string& text) {
    std::vector<double> parts;
    std::stringstream in(text);
    std::string field;
    // strtod, not stod: a garbled base time prints as 0 rather than throwing.
    while (std::getline(in, field, ':')) parts.push_back(std::strtod(field.c_str(), nullptr));
    double seconds = 0;
    for (double p : parts) seconds = seconds * 60 + p;
    return std::llround(seconds * 1000);
}

std::string hms(std::int64_t ms, bool always_hours) {
    const long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
    if (always_hours) return printf_string("%02lld:%02lld:%02lld.%03lld", h, m, s, f);
    if (h > 0) return printf_string("%lld:%02lld:%02lld.%03lld", h, m, s, f);
    return printf_string("%lld:%02lld.%03lld", (long long)m, (long long)s, (long long)f);
}

// "[hh:mm:ss.mmm dd/mm/yyyy]" (date only if the header has one), `offset_ms` after the start.
std::string absolute_time(std::int64_t offset_ms, const Header& h) {
    auto ms = parse_time_ms(h.base_time) + offset_ms;
    const auto day_ms = std::int64_t{86400000};
    const auto days = ms / day_ms;
    ms %= day_ms;
    // Built by appending: GCC 12 warns falsely on "literal" + std::string.
    std::string text = "[";
    text += hms(ms, true);
    int d = 0, m = 0;
    long long y = 0;
    if (h.base_date.empty() || std::sscanf(h.base_date.c_str(), "%d/%d/%lld", &d, &m, &y) != 3) return text += "]";
    std::int64_t yy = 0;
    civil_from_days(days_from_civil(y, m, d) + days, yy, m, d);
    return text += printf_string(" %02d/%02d/%lld]", d, m, static_cast<long long>(yy));
}

std::string time_of(std::int64_t tick, double ticks_per_second, const std::optional<Header>& header) {
    const auto ms = std::llround(static_cast<double>(tick) * 1000.0 / ticks_per_second);
    if (header && !header->base_time.empty()) return absolute_time(ms, *header);
    return pad_left(hms(ms, false), 12);
}

// wfdbdesc prints gains with 12 significant digits and frequencies with %g.
std::string gain_text(double gain) { return printf_string("%.12g", gain); }
std::string frequency_text(double fs) { return printf_string("%g", fs); }

// wfdbdesc omits checksums when the header has no length (they cannot be verified then).
void describe_signal(std::ostream& out, const SignalInfo& s, int group, int index, bool with_checksum) {
    out << "Group " << group << ", Signal " << index << ":\n";
    out << " File: " << s.file_name << "\n";
    out << " Description: " << s.description << "\n";
    out << " Gain: " << (s.gain_given ? gain_text(s.gain) + " adu/" + s.units : "uncalibrated") << "\n";
    out << " Initial value: " << s.initial_value << "\n";
    out << " Storage format: " << s.format;
    if (s.samples_per_frame > 1) out << " (" << s.samples_per_frame << " samples per frame)";
    out << "\n I/O: can be unbuffered\n";
    out << " ADC resolution: " << s.adc_resolution << " bits\n";
    out << " ADC zero: " << s.adc_zero << "\n";
    out << " Baseline: " << s.baseline << "\n";
    if (s.checksum && with_checksum) out << " Checksum: " << *s.checksum << "\n";
}

}  // namespace

std::string elapsed_time(std::int64_t sample, double fs) {
    return pad_left(hms(std::llround(static_cast<double>(sample) * 1000.0 / fs), false), 12);
}

std::int64_t parse_time_argument(const std::string& text, double fs) {
    try {
        std::size_t used = 0;
        if (!text.empty() && text[0] == 's') {
            const auto n = std::stoll(text.substr(1), &used);
            if (used + 1 == text.size() && n >= 0) return n;
        } else {
            const auto seconds = std::stod(text, &used);
            if (used == text.size() && seconds >= 0) return std::llround(seconds * fs);
        }
    } catch (const std::exception&) {
        // fall through to the error below
    }
    throw WfdbError("bad time '" + text + "' (seconds, or sNNN for a sample number)");
}

std::string format_rdsamp_row(const SignalData& data, std::int64_t row, bool physical, bool first_column) {
    std::string line;
    if (first_column)
        line = physical ? printf_string("%15.3f", data.seconds(row))
                        : printf_string("%15lld", static_cast<long long>(data.from * data.ticks_per_frame + row));
    for (std::size_t s = 0; s < data.digital.size(); ++s) {
        if (first_column || s > 0) line += '\t';
        const auto v = data.digital[s][static_cast<std::size_t>(row)];
        if (physical) {
            const double p = data.physical(s, row);
            line += std::isnan(p) ? std::string(14, ' ') + "-" : printf_string("%15.8f", p);
        } else {
            line += printf_string("%7d", v == kInvalidSample ? kWfdbInvalid : v);
        }
    }
    return line;
}

void write_rdsamp(std::ostream& out, const SignalData& data, bool physical, bool first_column) {
    for (std::int64_t r = 0; r < data.rows; ++r) out << format_rdsamp_row(data, r, physical, first_column) << '\n';
}

std::string format_rdann_line(const Annotation& a, const std::optional<Header>& header, double time_resolution) {
    const double fs = header ? header->fs : 250.0;
    const double rate = time_resolution > 0 ? time_resolution : fs;
    // Ticks of a finer annotation clock are shown as the nearest record sample.
    const auto sample = time_resolution > 0 ? std::llround(static_cast<double>(a.sample) * fs / rate)
                                            : static_cast<long long>(a.sample);
    auto line = time_of(a.sample, rate, header) + printf_string("  %7lld", static_cast<long long>(sample)) +
                pad_left(a.symbol.empty() ? annotation_symbol(a.type) : a.symbol, 6) +
                printf_string("%5d%5d%5d", a.subtype, a.chan, a.num);
    if (!a.aux.empty()) {
        // rdann prints aux with %s, so it stops at the first NUL.
        line += '\t';
        line += a.aux.substr(0, a.aux.find('\0'));
    }
    return line;
}

void write_rdann(std::ostream& out, const std::vector<Annotation>& annotations, const std::optional<Header>& header,
                 double time_resolution) {
    for (const auto& a : annotations) out << format_rdann_line(a, header, time_resolution) << '\n';
}

std::string format_wfdbdesc(const Header& h, const std::string& record) {
    std::ostringstream out;
    out << "Record " << record << "\n";
    if (h.comments.size() > h.leading_comments) {
        out << "Notes\n=====\n";
        for (std::size_t i = h.leading_comments; i < h.comments.size(); ++i) out << h.comments[i] << "\n";
        out << "=====\n\n";
    }
    out << "Starting time: " << (h.base_time.empty() ? "not specified" : absolute_time(0, h)) << "\n";
    out << "Length: ";
    if (h.nsamp) out << elapsed_time(*h.nsamp, h.fs) << " (" << *h.nsamp << " sample intervals)\n";
    else out << "not specified\n";
    out << "Sampling frequency: " << frequency_text(h.fs) << " Hz\n";
    out << h.nsig << (h.nsig == 1 ? " signal\n" : " signals\n");
    int group = 0;
    for (int s = 0; s < h.nsig; ++s) {
        const auto& sig = h.signals[static_cast<std::size_t>(s)];
        if (s > 0 && sig.file_name != h.signals[static_cast<std::size_t>(s - 1)].file_name) ++group;
        describe_signal(out, sig, group, s, h.nsamp.has_value());
    }
    return out.str();
}

}  // namespace ecgbench::wfdb
