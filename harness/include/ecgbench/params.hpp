// Typed plugin parameters: the schema a plugin declares (ParamSpec) and the validated values the
// host hands it (Params). Deliberately free of TOML and LibTorch so every layer can use it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ecgbench {

/// The value types a parameter may have; TOML integers, floats, booleans, strings, string arrays.
/// File is a string holding a path whose content (its SHA-256) is part of the cell identity; its
/// value is a std::string like String's. It comes last so that the existing enumerators keep
/// their values and plugins built before it stay compatible (no ABI bump).
enum class ParamType { Bool, Int, Float, String, StringList, File };

/// One parameter value. Int and Float are distinct: a Float parameter also accepts an integer.
using ParamValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;

/// Human name of a type, as used in error messages and `ecgbench plugins NAME`.
const char* to_string(ParamType type);

/// The type held by a value (String for a File parameter's path: the variant cannot tell).
ParamType type_of(const ParamValue& value);

/// Renders a value as TOML would write it (strings quoted, lists in brackets).
std::string format_value(const ParamValue& value);

/// A parameter a plugin declares: name, type, default, one-line doc and optional constraints.
struct ParamSpec {
    std::string name;                  ///< key in the TOML `params` table
    ParamType type;                    ///< required type
    ParamValue default_value;          ///< used when the key is absent (and recorded as used)
    std::string doc;                   ///< one line shown by `ecgbench plugins NAME`
    std::optional<double> min{};       ///< inclusive lower bound for Int/Float
    std::optional<double> max{};       ///< inclusive upper bound for Int/Float
    std::vector<std::string> choices{};  ///< allowed values for String (empty = any)
};

/// Named, hard-to-misuse ParamSpec builders: `param::integer("proj_dim", 128, "doc").at_least(1)`,
/// `param::real("tau", 0.1, "doc").between(1e-3, 10)`, `param::choice("size", "S", {"XS", "S"}, "doc")`.
namespace param {
/// A ParamSpec under construction; converts to ParamSpec where one is expected.
struct Builder {
    ParamSpec spec;
    Builder& at_least(double low) { spec.min = low; return *this; }
    Builder& at_most(double high) { spec.max = high; return *this; }
    Builder& between(double low, double high) { spec.min = low; spec.max = high; return *this; }
    operator ParamSpec() const { return spec; }  // NOLINT: implicit on purpose
};
inline Builder integer(std::string name, std::int64_t default_value, std::string doc) {
    return {{std::move(name), ParamType::Int, default_value, std::move(doc)}};
}
inline Builder real(std::string name, double default_value, std::string doc) {
    return {{std::move(name), ParamType::Float, default_value, std::move(doc)}};
}
inline Builder flag(std::string name, bool default_value, std::string doc) {
    return {{std::move(name), ParamType::Bool, default_value, std::move(doc)}};
}
inline Builder text(std::string name, std::string default_value, std::string doc) {
    return {{std::move(name), ParamType::String, std::move(default_value), std::move(doc)}};
}
inline Builder choice(std::string name, std::string default_value, std::vector<std::string> choices, std::string doc) {
    return {{std::move(name), ParamType::String, std::move(default_value), std::move(doc), {}, {}, std::move(choices)}};
}
/// A path whose file's bytes the plugin reads; "" (the default) means unset. The plan hashes the
/// file, so editing it changes the cells that use it, and refuses a path that does not exist.
inline Builder file(std::string name, std::string doc) {
    return {{std::move(name), ParamType::File, std::string{}, std::move(doc)}};
}
inline Builder strings(std::string name, std::vector<std::string> default_value, std::string doc) {
    return {{std::move(name), ParamType::StringList, std::move(default_value), std::move(doc)}};
}
}  // namespace param

/// Appends `group` to `specs` (a reusable parameter group such as augmentation_params()).
inline std::vector<ParamSpec> operator+(std::vector<ParamSpec> specs, const std::vector<ParamSpec>& group) {
    specs.insert(specs.end(), group.begin(), group.end());
    return specs;
}

/// Validated parameter values (every declared key present, defaults filled in). Accessors throw
/// std::invalid_argument naming the key when it is absent or of another type.
class Params {
public:
    Params() = default;
    explicit Params(std::map<std::string, ParamValue> values) : values_(std::move(values)) {}

    bool get_bool(const std::string& key) const;
    std::int64_t get_int(const std::string& key) const;
    double get_float(const std::string& key) const;  ///< accepts Int values too
    const std::string& get_string(const std::string& key) const;
    const std::vector<std::string>& get_strings(const std::string& key) const;

    bool has(const std::string& key) const { return values_.count(key) != 0; }
    void set(const std::string& key, ParamValue value) { values_[key] = std::move(value); }
    const std::map<std::string, ParamValue>& values() const { return values_; }

private:
    const ParamValue& at(const std::string& key) const;
    std::map<std::string, ParamValue> values_;
};

/// Checks `given` against `schema`: unknown keys, wrong types and out-of-range values throw
/// std::invalid_argument with a message naming the key (callers add file/line/plugin context).
/// Returns the full parameter set with defaults for absent keys.
Params validate_params(const std::vector<ParamSpec>& schema, const std::map<std::string, ParamValue>& given);

}  // namespace ecgbench
