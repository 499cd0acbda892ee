#include "util/json.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <variant>

namespace ecgbench {

std::string json_string(const std::string& text) {
    static const char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
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
    return out + "\"";
}

std::string json_number(std::int64_t value) { return std::to_string(value); }

std::string json_number(double value) {
    // JSON has no NaN/Infinity; the parser rejects them in experiment files, so one here comes
    // from a plugin default and would make the identity meaningless.
    if (!std::isfinite(value)) throw std::invalid_argument("non-finite number cannot be part of a cell configuration");
    // -0.0 and 0.0 give identical results; do not let them give different hashes.
    if (value == 0) return "0";
    // Shortest representation that reads back exactly (std::to_chars without precision): the
    // same bytes on every run and platform, and valid JSON ("0.001", "1e-05", "1e+300").
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

std::string json_array(const std::vector<std::string>& serialised) {
    std::string out = "[";
    for (std::size_t i = 0; i < serialised.size(); ++i) {
        if (i > 0) out += ',';
        out += serialised[i];
    }
    return out + "]";
}

std::string json_strings(const std::vector<std::string>& items) {
    std::vector<std::string> serialised;
    for (const std::string& item : items) serialised.push_back(json_string(item));
    return json_array(serialised);
}

std::string json_object(const JsonObject& object) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : object) {
        if (!first) out += ',';
        first = false;
        out += json_string(key);
        out += ':';
        out += value;
    }
    return out + "}";
}

std::string json_param_value(const ParamValue& value) {
    return std::visit(
        [](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) {
                return v ? "true" : "false";
            } else if constexpr (std::is_same_v<T, std::string>) {
                return json_string(v);
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                return json_strings(v);
            } else {
                return json_number(v);
            }
        },
        value);
}

std::string json_params(const Params& params) {
    JsonObject object;
    for (const auto& [key, value] : params.values()) object[key] = json_param_value(value);
    return json_object(object);
}

}  // namespace ecgbench
