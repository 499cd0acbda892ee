// A small canonical JSON writer: keys sorted bytewise (std::map), no whitespace, shortest
// round-trip numbers. Its bytes are fully specified here because cell identities hash them.
#pragma once

#include "ecgbench/params.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ecgbench {

/// JSON object under construction: key -> already serialised value. std::map sorts the keys.
using JsonObject = std::map<std::string, std::string>;

/// A string literal with JSON escapes (UTF-8 passes through).
std::string json_string(const std::string& text);
/// An integer.
std::string json_number(std::int64_t value);
/// A finite double in shortest round-trip form; -0 is written as 0. Throws on NaN/inf.
std::string json_number(double value);
/// An array of already serialised values.
std::string json_array(const std::vector<std::string>& serialised);
/// An array of strings.
std::string json_strings(const std::vector<std::string>& items);
/// An object of already serialised values.
std::string json_object(const JsonObject& object);
/// A plugin parameter value (bool, number, string or list of strings).
std::string json_param_value(const ParamValue& value);
/// Validated parameters as an object (every key, defaults included).
std::string json_params(const Params& params);

}  // namespace ecgbench
