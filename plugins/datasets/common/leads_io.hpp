// Reading a WFDB record into the canonical lead layout: which signal is which standard lead (by
// its description, through ecgbench::canonical_lead_name, or through the dataset's lead mapping:
// `lead_alias` / `default_lead`), unit conversion to mV, and a frame range decoded into a
// [leads x samples] block in the dataset's lead order.
#pragma once

#include "ecgbench/fingerprint.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/wfdb.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
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

/// The lead-mapping params every WFDB-based dataset plugin declares (append them to the plugin's
/// schema with with_lead_mapping_params, so they are validated, hashed into the fingerprint and the
/// cell identity like any other param, and recorded with the cell's config):
///  * `lead_alias` (string list, default []): "SIGNAL=LEAD" entries; a signal whose description is
///    SIGNAL (exact, ignoring leading/trailing blanks) is lead LEAD (any name canonical_lead_name
///    accepts). Checked before the standard names, so it can also rename a standard one.
///  * `default_lead` (string, default ""): the lead of a record's only signal when that record has
///    exactly one signal and its description is neither a standard lead name nor aliased
///    (single-lead wearables: AliveCor's "ECG" is lead I). "" = no default.
std::vector<ParamSpec> lead_mapping_params();
/// `specs` followed by lead_mapping_params().
std::vector<ParamSpec> with_lead_mapping_params(std::vector<ParamSpec> specs);

/// A dataset's lead mapping, read from its params.
struct LeadMapping {
    std::map<std::string, std::string> alias;  ///< trimmed signal description → canonical lead
    std::string default_lead;                  ///< canonical lead, "" = none

    /// Reads `lead_alias` and `default_lead` (and, where the plugin declares it, the older
    /// `lead_aliases`, same syntax, merged). Throws std::invalid_argument "<who>: `lead_alias`: ..."
    /// for an entry that is not SIGNAL=LEAD with a standard lead, a signal given two different
    /// leads, or a `default_lead` that is not a standard lead.
    static LeadMapping from_params(const Params& params, const std::string& who);
    bool empty() const { return alias.empty() && default_lead.empty(); }
    /// For DatasetInfo::preprocessing: "leads mapped: ECG -> I (lead_alias), the unknown signal of
    /// a single-signal record -> I (default_lead); "", or "" when empty.
    std::string note() const;
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

/// Maps `header`'s signals to leads: `mapping`'s alias first, then the standard names
/// (canonical_lead_name), then `mapping.default_lead` for a single-signal record. Sets `problem`
/// (a drop reason) for a lead signal in a non-voltage unit ("units 'mmHg' of signal II not a
/// voltage (mV, uV, V)"), for two signals on one lead when the mapping put one of them there
/// ("ambiguous lead mapping: signals 'ECG1' and 'ECG2' both map to lead I"; two signals with
/// standard names for one lead: the first is used, as before), and for no lead at all, naming the
/// signals seen and the fix ("no standard ECG lead: signal 'ECG' is not a standard lead name; map
/// it with lead_alias = ["ECG=I"] or default_lead = "I"").
LeadMap map_leads(const wfdb::Header& header, const LeadMapping& mapping);

/// Decodes frames [from, from + count) of the signals mapped to `leads` (dataset order) into
/// `out` ([leads.size() x count], mV, 0 for absent leads) and `present` ([leads.size()], 1/0).
/// Returns "" on success, else a drop reason: "invalid samples (signal II, sample 17)" (sample
/// relative to `from`; only when `allow_invalid` is false, else invalid samples are NaN) or
/// "unreadable signals: <reader message>".
std::string read_leads(const wfdb::Header& header, const LeadMap& map, const std::vector<std::string>& leads,
                       std::int64_t from, std::int64_t count, float* out, unsigned char* present,
                       bool allow_invalid = false);

}  // namespace ecgbench::datasets
