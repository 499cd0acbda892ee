#include "common/leads_io.hpp"

#include "common/text.hpp"
#include "ecgbench/dsp.hpp"
#include "ecgbench/leads.hpp"

#include <algorithm>
#include <cctype>
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

std::vector<ParamSpec> lead_mapping_params() {
    return {
        {"lead_alias", ParamType::StringList, std::vector<std::string>{},
         "SIGNAL=LEAD: a signal described SIGNAL is lead LEAD (e.g. [\"ECG=I\"], [\"ECG1=I\", \"ECG2=II\"]); "
         "checked before the standard lead names",
         {}, {}, {}},
        {"default_lead", ParamType::String, std::string{},
         "lead of a single-signal record whose signal is not a standard lead name (e.g. \"I\" for AliveCor "
         "'ECG'); \"\" = none",
         {}, {}, {}},
    };
}

std::vector<ParamSpec> with_lead_mapping_params(std::vector<ParamSpec> specs) {
    for (auto& spec : lead_mapping_params()) specs.push_back(std::move(spec));
    return specs;
}

LeadMapping LeadMapping::from_params(const Params& params, const std::string& who) {
    LeadMapping mapping;
    auto add = [&](const std::string& key) {
        for (const auto& entry : params.get_strings(key)) {
            const auto eq = entry.rfind('=');
            const std::string signal = eq == std::string::npos ? std::string() : trim(entry.substr(0, eq));
            const auto lead = eq == std::string::npos ? std::nullopt : canonical_lead_name(entry.substr(eq + 1));
            if (signal.empty() || !lead) {
                throw std::invalid_argument(who + ": `" + key + "`: '" + entry +
                                            "' is not SIGNAL=LEAD with a standard lead (I, II, III, aVR, aVL, aVF, "
                                            "V1-V6), e.g. \"ECG=I\"");
            }
            const auto [it, inserted] = mapping.alias.emplace(signal, *lead);
            if (!inserted && it->second != *lead) {
                throw std::invalid_argument(who + ": `" + key + "`: signal '" + signal + "' is mapped to both " +
                                            it->second + " and " + *lead);
            }
        }
    };
    add("lead_alias");
    if (params.has("lead_aliases")) add("lead_aliases");  // af_holter's older name, same syntax
    const std::string given = trim(params.get_string("default_lead"));
    if (!given.empty()) {
        const auto lead = canonical_lead_name(given);
        if (!lead) {
            throw std::invalid_argument(who + ": `default_lead`: '" + given +
                                        "' is not a standard lead (I, II, III, aVR, aVL, aVF, V1-V6)");
        }
        mapping.default_lead = *lead;
    }
    return mapping;
}

std::string LeadMapping::note() const {
    if (empty()) return {};
    std::string out = "leads mapped:";
    if (!alias.empty()) {
        std::string list;
        for (const auto& [signal, lead] : alias) list += (list.empty() ? " " : ", ") + signal + " -> " + lead;
        out += list + " (lead_alias)";
    }
    if (!default_lead.empty()) {
        out += std::string(alias.empty() ? " " : ", ") + "the unknown signal of a single-signal record -> " +
               default_lead + " (default_lead)";
    }
    return out + "; ";
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

namespace {

/// A standard lead named by a word of `description` ("ECG lead II" → II, "Lead I (mV)" → I,
/// "modified V1" → V1), for the hint of a drop reason only: never used to map a signal.
std::optional<std::string> lead_in_words(const std::string& description) {
    std::string word;
    for (std::size_t i = 0; i <= description.size(); ++i) {
        const char c = i < description.size() ? description[i] : ' ';
        if (std::isalnum(static_cast<unsigned char>(c))) {
            word += c;
            continue;
        }
        if (!word.empty()) {
            if (auto lead = canonical_lead_name(word)) return lead;
            word.clear();
        }
    }
    return std::nullopt;
}

/// Why a record has no lead, naming its voltage signals and the lead_alias / default_lead that
/// would map them.
std::string no_lead_problem(const wfdb::Header& header, const std::vector<double>& unit_factor) {
    const std::string base = "no standard ECG lead";
    if (header.signals.empty()) return base + " (the record has no signals)";
    std::vector<std::string> names;  // voltage signals: the ones that can be leads
    for (std::size_t s = 0; s < header.signals.size(); ++s)
        if (unit_factor[s] != 0.0) names.push_back(trim(header.signals[s].description));
    if (names.empty()) return base + " (no signal in a voltage unit: mV, uV, V)";
    if (names.size() == 1) {
        const std::string lead = lead_in_words(names[0]).value_or("I");
        if (names[0].empty()) {
            return base + ": the signal has no description" +
                   (header.signals.size() == 1 ? "; map it with default_lead = \"" + lead + "\"" : std::string());
        }
        return base + ": signal '" + names[0] + "' is not a standard lead name; map it with lead_alias = [\"" +
               names[0] + "=" + lead + "\"]" +
               (header.signals.size() == 1 ? " or default_lead = \"" + lead + "\"" : std::string());
    }
    std::string seen, fix;
    for (const auto& name : names) {
        seen += (seen.empty() ? "'" : ", '") + name + "'";
        if (!name.empty()) fix += (fix.empty() ? "\"" : ", \"") + name + "=" + lead_in_words(name).value_or("<lead>") + "\"";
    }
    return base + ": signals " + seen + " are not standard lead names; map them with lead_alias = [" + fix + "]";
}

}  // namespace

LeadMap map_leads(const wfdb::Header& header, const LeadMapping& mapping) {
    LeadMap map;
    map.unit_factor.reserve(header.signals.size());
    for (const auto& s : header.signals) map.unit_factor.push_back(to_millivolt(s.units));
    std::vector<bool> mapped;  // per entry of map.leads: put there by the mapping, not by its name
    for (std::size_t s = 0; s < header.signals.size(); ++s) {
        const std::string description = trim(header.signals[s].description);
        std::optional<std::string> lead;
        bool by_mapping = true;
        if (const auto alias = mapping.alias.find(description); alias != mapping.alias.end()) {
            lead = alias->second;
        } else if ((lead = canonical_lead_name(description))) {
            by_mapping = false;
        } else if (!mapping.default_lead.empty() && header.signals.size() == 1) {
            lead = mapping.default_lead;
        }
        if (!lead) continue;
        if (map.unit_factor[s] == 0.0) {
            map.problem = "units '" + header.signals[s].units + "' of signal " + header.signals[s].description +
                          " not a voltage (mV, uV, V)";
            return map;
        }
        const auto same = std::find_if(map.leads.begin(), map.leads.end(), [&](const auto& l) { return l.first == *lead; });
        if (same != map.leads.end()) {
            // Two signals with standard names for one lead: the first is used. Through the mapping,
            // the user's intent is unclear: the record is dropped.
            if (!by_mapping && !mapped[static_cast<std::size_t>(same - map.leads.begin())]) continue;
            map.problem = "ambiguous lead mapping: signals '" +
                          trim(header.signals[static_cast<std::size_t>(same->second)].description) + "' and '" +
                          description + "' both map to lead " + *lead + " (lead_alias / default_lead)";
            map.leads.clear();
            return map;
        }
        map.leads.emplace_back(*lead, static_cast<int>(s));
        mapped.push_back(by_mapping);
    }
    if (map.leads.empty()) map.problem = no_lead_problem(header, map.unit_factor);
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
        // One pass to physical units, one contiguous run per signal (doubles, so the unit
        // factor below rounds as it did per sample).
        const auto data = wfdb::read_physical<double>(header, options, wfdb::Layout::signals);
        if (data.rows < count) {
            return "unreadable signals: only " + std::to_string(data.rows) + " of " + std::to_string(count) + " samples";
        }
        std::size_t k = 0;
        for (std::size_t l = 0; l < L; ++l) {
            const int s = signal_of_lead[l];
            if (s < 0) continue;
            const double factor = map.unit_factor[static_cast<std::size_t>(s)];
            float* row = out + l * static_cast<std::size_t>(count);
            const double* physical = data.values.data() + k * static_cast<std::size_t>(data.rows);
            for (std::int64_t t = 0; t < count; ++t) {
                const double v = physical[t] * factor;
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
