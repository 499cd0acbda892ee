// Small text helpers shared by the dataset plugins.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecgbench::datasets {

/// Whole file as bytes; throws std::runtime_error "<who>: cannot read <file>".
std::string read_text(const std::filesystem::path& file, std::string_view who);
/// `s` without leading and trailing spaces, tabs, CR and LF.
std::string trim(std::string_view s);
/// ASCII lower case.
std::string lower(std::string_view s);
/// Fields of `s` separated by `sep`, each trimmed (empty fields kept).
std::vector<std::string> split_fields(std::string_view s, char sep);
/// `value` printed with %g ("500", "2.5", "0.1").
std::string format_number(double value);
/// The whole (trimmed) text as a finite or NaN double ("nan", "NaN" give NaN); nullopt when it is
/// empty or not a number.
std::optional<double> parse_number(std::string_view text);

}  // namespace ecgbench::datasets
