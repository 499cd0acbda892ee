// What the PhysioNet/CinC Challenge 2020/2021 headers carry beyond the signals: `# Age:`, `# Sex:`
// and `# Dx:` comments, the source database (from the record-name prefix), and the Challenge 2021
// scored SNOMED-CT classes with their equivalent pairs.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace physionet2021 {

/// Demographics and diagnoses of one record, tolerant of the real files' quirks: trailing commas
/// and empty codes are skipped, duplicate codes kept once (first position), "NaN"/"Unknown"/missing
/// age or sex give NaN, sex is matched case-insensitively on its first letter (M/F).
struct ChallengeComments {
    float age = std::nanf("");
    float sex = std::nanf("");        ///< 1 = male, 0 = female (the ecgbench convention)
    std::vector<std::string> dx;     ///< SNOMED-CT codes as written, de-duplicated, in order
    bool has_dx = false;             ///< a `Dx:` comment was present
};
ChallengeComments parse_comments(const std::vector<std::string>& comments);

/// A source database of the Challenge and the record-name prefix that identifies it.
struct Source {
    const char* name;    ///< parameter value, e.g. "georgia"
    const char* prefix;  ///< record-name prefix, e.g. "E"
    const char* what;    ///< human name
};
const std::vector<Source>& sources();
/// The source of `record` (by its leading letters: "HR06000" → ptbxl), nullptr when unknown.
const Source* source_of(const std::string& record);

/// The 26 scored classes of the Challenge 2021 (weights.csv column names, in its order); four of
/// them are equivalent pairs written "a|b".
const std::vector<std::string>& scored_classes();
/// The class name a code counts as: the "a|b" pair for either member of an equivalent pair, else
/// the code itself.
std::string merged_class(const std::string& code);

}  // namespace physionet2021
