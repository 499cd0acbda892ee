// RFC 4180-style CSV (quoted fields may hold commas, newlines and doubled quotes), with the line
// each row starts on so errors can name file:line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ecgbench::datasets {

/// A parsed CSV file: the header row and the data rows.
struct CsvTable {
    std::string source;                          ///< file name used in messages
    std::vector<std::string> header;             ///< trimmed column names
    std::vector<std::vector<std::string>> rows;  ///< data rows, fields as written (untrimmed)
    std::vector<std::size_t> lines;              ///< 1-based line each data row starts on

    /// Index of column `name` (exact, after trimming), -1 when absent.
    int column(std::string_view name) const;
    /// Like column(), but throws std::invalid_argument "<who>: <source> has no `name` column".
    int require(std::string_view name, std::string_view who) const;
    /// Trimmed field; "" when the row is shorter or `col` < 0.
    std::string cell(std::size_t row, int col) const;
    /// "<source>:<line>" of a data row, for messages.
    std::string where(std::size_t row) const;
};

/// All rows of `text` (blank lines skipped, a leading UTF-8 byte order mark ignored); throws std::invalid_argument naming `source` and the
/// line on an unterminated quoted field.
std::vector<std::vector<std::string>> parse_csv_rows(const std::string& text, const std::string& source,
                                                     std::vector<std::size_t>* lines = nullptr);
/// First row as header, the rest as data; throws std::invalid_argument when `text` is empty.
CsvTable parse_csv(const std::string& text, const std::string& source);

}  // namespace ecgbench::datasets
