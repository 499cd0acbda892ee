// Reading a WFDB record into the canonical lead layout: which signal is which standard lead (by
// its description, through ecgbench::canonical_lead_name), unit conversion to mV, and a frame
// range decoded into a [leads x samples] block in the dataset's lead order.
#pragma once

#include "ecgbench/fingerprint.hpp"
#include "ecgbench/wfdb.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ecgbench::datasets {

/// Factor from a signal's physical unit to mV (mV, uV/µV, V; "" counts as mV), 0 when unknown.
double to_millivolt(const std::string& units);

/// How one record's signals map onto canonical leads.
struct LeadMap {
    std::vector<std::pair<std::string, int>> leads;  ///< canonical lead → signal index (first signal wins)
    std::vector<double> unit_factor;                 ///< per signal, to mV (0 = not a voltage)
    std::string problem;                             ///< "" when usable, else why not (a drop reason)

    bool has(const std::string& lead) const;
};

/// Reads `record`.hea (a path without extension), feeds "rec|<name>|<header text>|" and then
/// "dat|<file>|<size or missing>|" per signal file to `fingerprint`, and parses it. Returns nullopt
/// with `problem` = "unreadable header: ..." when the file is missing or malformed.
std::optional<wfdb::Header> read_header_fingerprinted(const std::filesystem::path& record, const std::string& name,
                                                      Fingerprint& fingerprint, std::string& problem);

/// Whether two sampling rates are the same (to 1e-9 relative).
bool same_rate(double a, double b);

/// Frames of a record at `record_hz` that cover `samples` samples at `target_hz`.
std::int64_t source_frames(double record_hz, double target_hz, std::int64_t samples);

/// Why a record cannot give `samples` samples at `sampling_rate` Hz ("" when it can):
/// "multi-segment record (not supported)", "sampling rate 250 Hz (expected 500)" (only without
/// `resample`; with it, a rate is a problem only when no resampling ratio exists),
/// "too short (4 s < 10 s)". Frame counts are checked only when the header states one.
std::string header_problem(const wfdb::Header& header, double sampling_rate, std::int64_t samples,
                           bool resample = false);

/// Maps `header`'s signals. A lead signal in a non-voltage unit or no standard lead at all sets
/// `problem` ("units 'mmHg' of signal II not a voltage (mV, uV, V)", "no standard ECG lead ...").
LeadMap map_leads(const wfdb::Header& header);

/// Decodes frames [from, from + count) of the signals mapped to `leads` (dataset order) into
/// `out` ([leads.size() x count], mV, 0 for absent leads) and `present` ([leads.size()], 1/0).
/// Returns "" on success, else a drop reason: "invalid samples (signal II, sample 17)" (sample
/// relative to `from`; only when `allow_invalid` is false, else invalid samples are NaN) or
/// "unreadable signals: <reader message>".
std::string read_leads(const wfdb::Header& header, const LeadMap& map, const std::vector<std::string>& leads,
                       std::int64_t from, std::int64_t count, float* out, unsigned char* present,
                       bool allow_invalid = false);

}  // namespace ecgbench::datasets
