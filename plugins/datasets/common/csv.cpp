#include "common/csv.hpp"

#include "common/text.hpp"

#include <stdexcept>

namespace ecgbench::datasets {

std::vector<std::vector<std::string>> parse_csv_rows(const std::string& text, const std::string& source,
                                                     std::vector<std::size_t>* lines) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    std::size_t line = 1, row_line = 1, quote_line = 1;
    auto end_row = [&] {
        if (any || !field.empty()) {
            row.push_back(std::move(field));
            rows.push_back(std::move(row));
            if (lines) lines->push_back(row_line);
        }
        row.clear();
        field.clear();
        any = false;
    };
    // A UTF-8 byte order mark (spreadsheet exports) is not part of the first column's name.
    const std::size_t begin = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
    for (std::size_t i = begin; i < text.size(); ++i) {
        const char ch = text[i];
        if (quoted) {
            if (ch == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                if (ch == '\n') ++line;
                field += ch;
            }
        } else if (ch == '"') {
            if (!any) row_line = line;
            quoted = true;
            any = true;
            quote_line = line;
        } else if (ch == ',') {
            if (!any) row_line = line;
            row.push_back(std::move(field));
            field.clear();
            any = true;
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            end_row();
            ++line;
        } else {
            if (!any) row_line = line;
            field += ch;
            any = true;
        }
    }
    if (quoted) {
        throw std::invalid_argument(source + ":" + std::to_string(quote_line) + ": unterminated quoted field");
    }
    end_row();
    return rows;
}

CsvTable parse_csv(const std::string& text, const std::string& source) {
    CsvTable table;
    table.source = source;
    std::vector<std::size_t> lines;
    auto rows = parse_csv_rows(text, source, &lines);
    if (rows.empty()) throw std::invalid_argument(source + ": empty CSV file (no header row)");
    for (const auto& name : rows[0]) table.header.push_back(trim(name));
    table.rows.assign(std::make_move_iterator(rows.begin() + 1), std::make_move_iterator(rows.end()));
    table.lines.assign(lines.begin() + 1, lines.end());
    return table;
}

int CsvTable::column(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

int CsvTable::require(std::string_view name, std::string_view who) const {
    const int c = column(name);
    if (c < 0) throw std::invalid_argument(std::string(who) + ": " + source + " has no `" + std::string(name) + "` column");
    return c;
}

std::string CsvTable::cell(std::size_t row, int col) const {
    if (col < 0 || row >= rows.size() || static_cast<std::size_t>(col) >= rows[row].size()) return {};
    return trim(rows[row][static_cast<std::size_t>(col)]);
}

std::string CsvTable::where(std::size_t row) const {
    return source + ":" + std::to_string(row < lines.size() ? lines[row] : 0);
}

}  // namespace ecgbench::datasets
