// Reads JSON documents in tests through SQLite's JSON functions (no JSON library needed):
// json_valid(), json_extract() with paths like '$.cells[0].hash', json_type(), json_array_length().
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <string>

namespace test_support {

class JsonQuery {
public:
    explicit JsonQuery(std::string json)
        : json_(std::move(json)), db_(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) {}

    bool valid() { return value("SELECT json_valid(?)") == "1"; }
    /// json_extract(document, path) as text ("" for SQL NULL, i.e. a missing path or JSON null).
    std::string text(const std::string& path) { return value("SELECT json_extract(?, '" + path + "')"); }
    /// json_type(document, path): "object", "array", "integer", "real", "text", "true", "false", "null" or "".
    std::string type(const std::string& path) { return value("SELECT json_type(?, '" + path + "')"); }
    long long length(const std::string& path) { return std::stoll(value("SELECT json_array_length(?, '" + path + "')")); }
    /// Any SQL over the document, bound as the only parameter (?), e.g. over json_each(?, '$.cells').
    std::string value(const std::string& sql) {
        SQLite::Statement query(db_, sql);
        query.bind(1, json_);
        if (!query.executeStep() || query.getColumn(0).isNull()) return "";
        return query.getColumn(0).getString();
    }

private:
    std::string json_;
    SQLite::Database db_;
};

}  // namespace test_support
