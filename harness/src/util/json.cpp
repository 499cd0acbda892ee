#include "util/json.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <variant>

namespace ecgbench {
namespace {

void write_string(const std::string& text, std::string& out) {
    static const char kHex[] = "0123456789abcdef";
    out += '"';
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                // Other control characters must be escaped; bytes >= 0x80 are UTF-8 (toml++
                // rejects invalid UTF-8) and JSON allows them verbatim.
                if (byte < 0x20) {
                    out += "\\u00";
                    out += kHex[byte >> 4];
                    out += kHex[byte & 0xf];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void write_double(double value, std::string& out) {
    // JSON has no NaN/Infinity; the parser rejects them in experiment files, so one here comes
    // from a plugin default and would make the identity meaningless.
    if (!std::isfinite(value)) throw std::invalid_argument("non-finite number cannot be part of a cell configuration");
    // -0.0 and 0.0 give identical results; do not let them give different hashes.
    if (value == 0) {
        out += '0';
        return;
    }
    // Shortest representation that reads back exactly (std::to_chars without precision): the
    // same bytes on every run and platform, and valid JSON ("0.001", "1e-05", "1e+300").
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

void write_canonical(const Json& value, std::string& out) {
    switch (value.type()) {
        case Json::value_t::null:
            out += "null";
            break;
        case Json::value_t::boolean:
            out += value.get<bool>() ? "true" : "false";
            break;
        case Json::value_t::number_integer:
            out += std::to_string(value.get<std::int64_t>());
            break;
        case Json::value_t::number_unsigned:
            out += std::to_string(value.get<std::uint64_t>());
            break;
        case Json::value_t::number_float:
            write_double(value.get<double>(), out);
            break;
        case Json::value_t::string:
            write_string(value.get_ref<const std::string&>(), out);
            break;
        case Json::value_t::array: {
            out += '[';
            bool first = true;
            for (const Json& item : value) {
                if (!first) out += ',';
                first = false;
                write_canonical(item, out);
            }
            out += ']';
            break;
        }
        case Json::value_t::object: {
            // nlohmann::json keeps objects in a std::map: keys already sorted bytewise.
            out += '{';
            bool first = true;
            for (const auto& [key, item] : value.items()) {
                if (!first) out += ',';
                first = false;
                write_string(key, out);
                out += ':';
                write_canonical(item, out);
            }
            out += '}';
            break;
        }
        case Json::value_t::binary:
        case Json::value_t::discarded:
            throw std::invalid_argument("canonical JSON: a binary or discarded value has no text");
    }
}

}  // namespace

std::string canonical_json(const Json& value) {
    std::string out;
    write_canonical(value, out);
    return out;
}

std::string json_text(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json json_param_value(const ParamValue& value) {
    return std::visit([](const auto& v) { return Json(v); }, value);
}

Json json_params(const Params& params) {
    Json object = Json::object();
    for (const auto& [key, value] : params.values()) object[key] = json_param_value(value);
    return object;
}

}  // namespace ecgbench
