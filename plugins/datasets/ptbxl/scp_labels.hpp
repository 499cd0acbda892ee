// PTB-XL's SCP-ECG statements: parsing `scp_codes` cells and deriving the label sets of
// Strodthoff et al. 2020 (all / diagnostic / subdiagnostic / superdiagnostic / form / rhythm)
// from scp_statements.csv.
#pragma once

#include "common/csv.hpp"

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptbxl {

/// The label sets, as named in the benchmark.
inline const std::vector<std::string>& label_set_names() {
    static const std::vector<std::string> names{"all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm"};
    return names;
}

/// A `scp_codes` cell, a Python dict literal such as "{'NORM': 100.0, 'SR': 0.0}": (code, likelihood)
/// in written order. Throws std::invalid_argument with `where` and the offending position.
std::vector<std::pair<std::string, double>> parse_scp_codes(std::string_view text, const std::string& where);

/// One row of scp_statements.csv (the first, unnamed column is the statement code).
struct Statement {
    bool diagnostic = false, form = false, rhythm = false;
    std::string diagnostic_class, diagnostic_subclass;  ///< "" when the cell is empty (NaN)
    std::string description;  ///< the `description` column (English), "" when absent
};

/// scp_statements.csv by code. Throws std::invalid_argument naming file:line on a bad cell.
std::map<std::string, Statement> read_statements(const ecgbench::datasets::CsvTable& csv);

/// A description per class of `label_set` (zero-shot prompts): a statement's `description`; for
/// superdiagnostic, PTB-XL's names of its five superclasses; for subdiagnostic, the description of
/// the statement whose code is the subclass, where there is one. Classes without one are left out.
std::map<std::string, std::string> class_descriptions(const std::vector<std::string>& classes,
                                                      const std::map<std::string, Statement>& statements,
                                                      const std::string& label_set);

/// The labels of one record in `label_set`: the distinct statements (or, for sub/superdiagnostic,
/// their diagnostic_subclass / diagnostic_class) of every code in `codes` that the set selects,
/// whatever its likelihood (as Strodthoff et al.'s code does). Sorted.
std::set<std::string> labels_of(const std::vector<std::pair<std::string, double>>& codes,
                                const std::map<std::string, Statement>& statements, const std::string& label_set);

}  // namespace ptbxl
