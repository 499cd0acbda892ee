#include "ecgbench/fingerprint.hpp"

#include <cstdio>

namespace ecgbench {

Fingerprint& Fingerprint::add(std::string_view text) {
    for (unsigned char ch : text) {
        hash_ ^= ch;
        hash_ *= 0x100000001B3ull;
    }
    return *this;
}

Fingerprint& Fingerprint::add_params(const std::vector<ParamSpec>& schema, const Params& params) {
    for (const auto& spec : schema) {
        std::string value;
        switch (spec.type) {
            case ParamType::Int: value = std::to_string(params.get_int(spec.name)); break;
            case ParamType::Float: {
                char buffer[40];
                std::snprintf(buffer, sizeof buffer, "%.17g", params.get_float(spec.name));
                value = buffer;
                break;
            }
            case ParamType::String:
            case ParamType::File: value = params.get_string(spec.name); break;
            case ParamType::StringList:
                for (const auto& item : params.get_strings(spec.name)) value += item + "\x1f";
                break;
            case ParamType::Bool: value = params.get_bool(spec.name) ? "true" : "false"; break;
        }
        add(spec.name + "=" + value + ";");
    }
    return *this;
}

std::string Fingerprint::hex() const {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash_));
    return buffer;
}

}  // namespace ecgbench
