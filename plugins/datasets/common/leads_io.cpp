#include "common/leads_io.hpp"

#include "common/text.hpp"
#include "dsp/dsp.hpp"
#include "ecgbench/leads.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <cmath>
#include <exception>

namespace ecgbench::datasets {

double to_millivolt(const std::string& units) {
    const std::string u = trim(units);
    if (u.empty() || u == "mV" || u == "mv") return 1.0;
    if (u == "uV" || u == "uv" || u == "\xC2\xB5V" || u == "\xCE\xBCV") return 1e-3;
    if (u == "V") return 1e3;
    return 0.0;
}

bool LeadMap::has(const std::string& lead) const {
    return std::any_of(leads.begin(), leads.end(), [&](const auto& l) { return l.first == lead; });
}

std::optional<wfdb::Header> read_header_fingerprinted(const std::filesystem::path& record, const std::string& name,
                                                      Fingerprint& fingerprint, std::string& problem) {
    std::filesystem::path hea = record;
    hea += ".hea";
    std::ifstream in(hea, std::ios::binary);
    if (!in) {
        fingerprint.add("rec|" + name + "|missing|");
        problem = "unreadable header: cannot read " + hea.string();
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    fingerprint.add("rec|" + name + "|" + text.str() + "|");
    wfdb::Header header;
    try {
        header = wfdb::parse_header(text.str(), hea.string());
    } catch (const std::exception& e) {
        problem = std::string("unreadable header: ") + e.what();
        return std::nullopt;
    }
    header.directory = hea.parent_path();
    std::set<std::string> files;
    for (const auto& s : header.signals) files.insert(s.file_name);
    for (const auto& f : files) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(header.directory / f, ec);
        fingerprint.add("dat|" + f + "|" + (ec ? std::string("missing") : std::to_string(size)) + "|");
    }
    return header;
}

bool same_rate(double a, double b) { return std::abs(a - b) <= 1e-9 * b; }

std::int64_t source_frames(double record_hz, double target_hz, std::int64_t samples) {
    if (same_rate(record_hz, target_hz)) return samples;
    return static_cast<std::int64_t>(std::ceil(static_cast<double>(samples) * record_hz / target_hz - 1e-9));
}

std::string header_problem(const wfdb::Header& header, double sampling_rate, std::int64_t samples, bool resample) {
    if (header.multi_segment()) return "multi-segment record (not supported)";
    if (!same_rate(header.fs, sampling_rate)) {
        const std::string rate = "sampling rate " + format_number(header.fs) + " Hz";
        if (!resample) return rate + " (expected " + format_number(sampling_rate) + ")";
        try {
            dsp::resampling_ratio(header.fs, sampling_rate);
        } catch (const std::exception& e) {
            return rate + " cannot be resampled to " + format_number(sampling_rate) + " Hz: " + e.what();
        }
    }
    if (header.nsamp && *header.nsamp < source_frames(header.fs, sampling_rate, samples)) {
        return "too short (" + format_number(static_cast<double>(*header.nsamp) / header.fs) + " s < " +
               format_number(static_cast<double>(samples) / sampling_rate) + " s)";
    }
    return {};
}

LeadMap map_leads(const wfdb::Header& header) {
    LeadMap map;
    map.unit_factor.reserve(header.signals.size());
    for (const auto& s : header.signals) map.unit_factor.push_back(to_millivolt(s.units));
    for (std::size_t s = 0; s < header.signals.size(); ++s) {
        const auto canonical = canonical_lead_name(header.signals[s].description);
        if (!canonical) continue;
        if (map.unit_factor[s] == 0.0) {
            map.problem = "units '" + header.signals[s].units + "' of signal " + header.signals[s].description +
                          " not a voltage (mV, uV, V)";
            return map;
        }
        if (!map.has(*canonical)) map.leads.emplace_back(*canonical, static_cast<int>(s));
    }
    if (map.leads.empty()) map.problem = "no standard ECG lead among the signal descriptions";
    return map;
}

std::string read_leads(const wfdb::Header& header, const LeadMap& map, const std::vector<std::string>& leads,
                       std::int64_t from, std::int64_t count, float* out, unsigned char* present, bool allow_invalid) {
    const std::size_t L = leads.size();
    std::vector<int> signal_of_lead(L, -1);
    wfdb::ReadOptions options;
    options.from = from;
    options.to = from + count;
    for (std::size_t l = 0; l < L; ++l) {
        for (const auto& [lead, signal] : map.leads) {
            if (lead == leads[l]) {
                signal_of_lead[l] = signal;
                options.signals.push_back(signal);
            }
        }
        present[l] = signal_of_lead[l] >= 0 ? 1 : 0;
    }
    std::fill(out, out + L * static_cast<std::size_t>(count), 0.0f);
    if (options.signals.empty()) return {};
    try {
        const wfdb::SignalData data = wfdb::read_signals(header, options);
        if (data.rows < count) {
            return "unreadable signals: only " + std::to_string(data.rows) + " of " + std::to_string(count) + " samples";
        }
        std::size_t k = 0;
        for (std::size_t l = 0; l < L; ++l) {
            const int s = signal_of_lead[l];
            if (s < 0) continue;
            const double factor = map.unit_factor[static_cast<std::size_t>(s)];
            float* row = out + l * static_cast<std::size_t>(count);
            for (std::int64_t t = 0; t < count; ++t) {
                const double v = data.physical(k, t) * factor;
                if (!std::isfinite(v) && !allow_invalid) {
                    return "invalid samples (signal " + header.signals[static_cast<std::size_t>(s)].description +
                           ", sample " + std::to_string(t) + ")";
                }
                row[t] = static_cast<float>(v);
            }
            ++k;
        }
    } catch (const std::exception& e) {
        return std::string("unreadable signals: ") + e.what();
    }
    return {};
}

}  // namespace ecgbench::datasets
