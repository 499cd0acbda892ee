// Parameter values and their validation against a plugin's declared schema.
#include "ecgbench/params.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace ecgbench {

const char* to_string(ParamType type) {
    switch (type) {
        case ParamType::Bool: return "bool";
        case ParamType::Int: return "integer";
        case ParamType::Float: return "float";
        case ParamType::String: return "string";
        case ParamType::StringList: return "string list";
        case ParamType::File: return "file";
    }
    return "?";
}

ParamType type_of(const ParamValue& value) { return static_cast<ParamType>(value.index()); }

std::string format_value(const ParamValue& value) {
    std::ostringstream out;
    switch (type_of(value)) {
        case ParamType::Bool: out << (std::get<bool>(value) ? "true" : "false"); break;
        case ParamType::Int: out << std::get<std::int64_t>(value); break;
        case ParamType::Float: out << std::get<double>(value); break;
        case ParamType::String:
        case ParamType::File: out << '"' << std::get<std::string>(value) << '"'; break;
        case ParamType::StringList: {
            out << '[';
            const auto& items = std::get<std::vector<std::string>>(value);
            for (std::size_t i = 0; i < items.size(); ++i) out << (i ? ", " : "") << '"' << items[i] << '"';
            out << ']';
            break;
        }
    }
    return out.str();
}

const ParamValue& Params::at(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) throw std::invalid_argument("parameter '" + key + "' is not set");
    return it->second;
}

namespace {
[[noreturn]] void wrong_type(const std::string& key, ParamType want, const ParamValue& have) {
    throw std::invalid_argument("parameter '" + key + "' is a " + to_string(type_of(have)) + ", not a " +
                                to_string(want));
}
}  // namespace

bool Params::get_bool(const std::string& key) const {
    const auto& v = at(key);
    if (auto p = std::get_if<bool>(&v)) return *p;
    wrong_type(key, ParamType::Bool, v);
}

std::int64_t Params::get_int(const std::string& key) const {
    const auto& v = at(key);
    if (auto p = std::get_if<std::int64_t>(&v)) return *p;
    wrong_type(key, ParamType::Int, v);
}

double Params::get_float(const std::string& key) const {
    const auto& v = at(key);
    if (auto p = std::get_if<double>(&v)) return *p;
    if (auto p = std::get_if<std::int64_t>(&v)) return static_cast<double>(*p);
    wrong_type(key, ParamType::Float, v);
}

const std::string& Params::get_string(const std::string& key) const {
    const auto& v = at(key);
    if (auto p = std::get_if<std::string>(&v)) return *p;
    wrong_type(key, ParamType::String, v);
}

const std::vector<std::string>& Params::get_strings(const std::string& key) const {
    const auto& v = at(key);
    if (auto p = std::get_if<std::vector<std::string>>(&v)) return *p;
    wrong_type(key, ParamType::StringList, v);
}

Params validate_params(const std::vector<ParamSpec>& schema, const std::map<std::string, ParamValue>& given) {
    std::map<std::string, ParamValue> out;
    for (const auto& [key, value] : given) {
        bool known = false;
        for (const auto& spec : schema) known = known || spec.name == key;
        if (!known) throw std::invalid_argument("unknown parameter '" + key + "'");
    }
    for (const auto& spec : schema) {
        auto it = given.find(spec.name);
        ParamValue value = it == given.end() ? spec.default_value : it->second;
        // An integer literal is a valid float ("lr = 1" means 1.0); store it as a float so that the
        // canonical config (and hence the cell hash) does not depend on how it was written.
        if (spec.type == ParamType::Float && type_of(value) == ParamType::Int)
            value = static_cast<double>(std::get<std::int64_t>(value));
        // A File parameter's value is its path, a string.
        const ParamType want = spec.type == ParamType::File ? ParamType::String : spec.type;
        if (type_of(value) != want)
            throw std::invalid_argument("parameter '" + spec.name + "' must be a " + to_string(spec.type) +
                                        ", got " + to_string(type_of(value)) + " " + format_value(value));
        if (spec.type == ParamType::Int || spec.type == ParamType::Float) {
            const double x = spec.type == ParamType::Int ? static_cast<double>(std::get<std::int64_t>(value))
                                                         : std::get<double>(value);
            if (!std::isfinite(x) || (spec.min && x < *spec.min) || (spec.max && x > *spec.max)) {
                std::ostringstream msg;
                msg << "parameter '" << spec.name << "' = " << format_value(value) << " is out of range [";
                msg << (spec.min ? format_value(*spec.min) : "-inf") << ", "
                    << (spec.max ? format_value(*spec.max) : "inf") << "]";
                throw std::invalid_argument(msg.str());
            }
        }
        if (spec.type == ParamType::String && !spec.choices.empty()) {
            const auto& s = std::get<std::string>(value);
            bool ok = false;
            std::string allowed;
            for (const auto& c : spec.choices) {
                ok = ok || c == s;
                allowed += (allowed.empty() ? "" : ", ") + c;
            }
            if (!ok)
                throw std::invalid_argument("parameter '" + spec.name + "' = \"" + s + "\" is not one of: " + allowed);
        }
        out.emplace(spec.name, std::move(value));
    }
    return Params(std::move(out));
}

}  // namespace ecgbench
