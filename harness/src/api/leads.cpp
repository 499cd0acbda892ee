// Canonical lead names and the aliases found in PhysioNet files (MIT-BIH "MLII", CODE "DII",
// lower-case "avf", stray spaces).
#include "ecgbench/leads.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace ecgbench {

const std::vector<std::string>& standard_12_leads() {
    static const std::vector<std::string> leads{"I", "II", "III", "aVR", "aVL", "aVF",
                                                "V1", "V2", "V3", "V4", "V5", "V6"};
    return leads;
}

std::optional<std::string> canonical_lead_name(const std::string& label) {
    std::string key;
    for (char c : label)
        if (!std::isspace(static_cast<unsigned char>(c))) key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    // Modified limb leads (MLII) and CODE's "D" prefix name the same projections.
    if (key.rfind("ML", 0) == 0) key = key.substr(2);
    else if (key.size() > 1 && key[0] == 'D' && key[1] == 'I') key = key.substr(1);
    for (const auto& lead : standard_12_leads()) {
        std::string upper;
        for (char c : lead) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (key == upper) return lead;
    }
    return std::nullopt;
}

std::vector<int> lead_columns(const std::vector<std::string>& available, const std::vector<std::string>& wanted) {
    std::vector<int> columns;
    columns.reserve(wanted.size());
    for (const auto& lead : wanted) {
        auto it = std::find(available.begin(), available.end(), lead);
        if (it == available.end()) {
            std::string have;
            for (const auto& a : available) have += (have.empty() ? "" : ", ") + a;
            throw std::invalid_argument("lead '" + lead + "' is not available (have: " + have + ")");
        }
        columns.push_back(static_cast<int>(it - available.begin()));
    }
    return columns;
}

}  // namespace ecgbench
