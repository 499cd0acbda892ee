// Canonical ECG lead names. Leads are addressed by name everywhere in ecgbench, never by column.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ecgbench {

/// The standard 12 leads in conventional order: I, II, III, aVR, aVL, aVF, V1 … V6.
const std::vector<std::string>& standard_12_leads();

/// Maps a lead label as found in files ("ii", "MLII", "DII", "avf", "V1 ") to its canonical name,
/// or nullopt when it is not a recognised standard lead.
std::optional<std::string> canonical_lead_name(const std::string& label);

/// Column of each `wanted` lead within `available` (canonical names). Throws std::invalid_argument
/// naming the missing lead and listing what `available` offers.
std::vector<int> lead_columns(const std::vector<std::string>& available, const std::vector<std::string>& wanted);

}  // namespace ecgbench
