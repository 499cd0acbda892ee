#include "challenge_header.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <cctype>

namespace physionet2021 {

namespace common = ecgbench::datasets;

ChallengeComments parse_comments(const std::vector<std::string>& comments) {
    ChallengeComments out;
    for (const auto& comment : comments) {
        const auto colon = comment.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = common::lower(common::trim(comment.substr(0, colon)));
        const std::string value = common::trim(comment.substr(colon + 1));
        if (key == "age") {
            const auto number = common::parse_number(value);
            if (number && std::isfinite(*number) && *number >= 0) out.age = static_cast<float>(*number);
        } else if (key == "sex") {
            const std::string v = common::lower(value);
            if (!v.empty() && v[0] == 'm') out.sex = 1.0f;
            else if (!v.empty() && v[0] == 'f') out.sex = 0.0f;
        } else if (key == "dx") {
            out.has_dx = true;
            for (auto& code : common::split_fields(value, ',')) {
                if (!code.empty() && std::find(out.dx.begin(), out.dx.end(), code) == out.dx.end()) out.dx.push_back(code);
            }
        }
    }
    return out;
}

const std::vector<Source>& sources() {
    static const std::vector<Source> list{
        {"cpsc2018", "A", "China Physiological Signal Challenge 2018"},
        {"cpsc2018_extra", "Q", "CPSC 2018, unused data"},
        {"incart", "I", "St Petersburg INCART 12-lead Arrhythmia Database"},
        {"ptb", "S", "PTB Diagnostic ECG Database"},
        {"ptbxl", "HR", "PTB-XL"},
        {"georgia", "E", "Georgia 12-lead ECG Challenge Database"},
        {"chapman_ningbo", "JS", "Chapman-Shaoxing and Ningbo databases"},
    };
    return list;
}

const Source* source_of(const std::string& record) {
    std::size_t n = 0;
    while (n < record.size() && std::isalpha(static_cast<unsigned char>(record[n]))) ++n;
    const std::string prefix = record.substr(0, n);
    for (const auto& s : sources())
        if (prefix == s.prefix) return &s;
    return nullptr;
}

const std::vector<std::string>& scored_classes() {
    static const std::vector<std::string> classes{
        "164889003", "164890007", "6374002", "426627000", "733534002|164909002", "713427006|59118001",
        "270492004", "713426002", "39732003", "445118002", "164947007", "251146004", "111975006",
        "698252002", "426783006", "284470004|63593006", "10370003", "365413008", "427172004|17338001",
        "164917005", "47665007", "427393009", "426177001", "427084000", "164934002", "59931005"};
    return classes;
}

std::string merged_class(const std::string& code) {
    for (const auto& c : scored_classes()) {
        const auto bar = c.find('|');
        if (bar == std::string::npos) continue;
        if (code == c.substr(0, bar) || code == c.substr(bar + 1)) return c;
    }
    return code;
}

}  // namespace physionet2021
