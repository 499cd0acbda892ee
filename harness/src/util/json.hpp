// JSON values are nlohmann::json (Debian nlohmann-json3-dev). Two ways to write them:
//
// - json_text: nlohmann's compact dump, for documents people and tools read (`--json` output,
//   run provenance in the store).
// - canonical_json: the text that cell identities and cache-shard keys hash. Its bytes are
//   specified here, not by the library, because changing one byte changes every stored cell's
//   hash: keys sorted bytewise, no whitespace, integers in decimal, doubles in shortest round-trip
//   form (std::to_chars: "1", "1e-04", "1e+05"; -0 as 0; NaN/inf refused), strings with \" \\ \n
//   \r \t and \u00xx for other control bytes, all else verbatim. nlohmann's dump differs on exactly
//   the cases that occur in identities (it writes 1.0, 500.0, 0.0001, 100000.0, -0.0, \b, \f), so
//   using it would have re-hashed existing stores (tests/unit/core/test_json.cpp pins both forms).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ecgbench/params.hpp"

namespace ecgbench {

using Json = nlohmann::json;

/// The canonical (hashed) text of a value; throws std::invalid_argument on a non-finite number.
std::string canonical_json(const Json& value);
/// Compact text for people and tools; invalid UTF-8 is replaced by U+FFFD instead of throwing.
std::string json_text(const Json& value);
/// A plugin parameter value (bool, integer, double, string or list of strings).
Json json_param_value(const ParamValue& value);
/// Validated parameters as an object (every key, defaults included).
Json json_params(const Params& params);

}  // namespace ecgbench
