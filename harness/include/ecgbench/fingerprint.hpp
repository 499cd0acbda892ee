// Dataset fingerprints: a cheap, stable 64-bit FNV-1a digest of everything that determines a
// dataset's records (plugin version, parameters, file listings…), for DatasetInfo::fingerprint.
// Enough to tell inputs apart; not a security hash.
#pragma once

#include "ecgbench/params.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ecgbench {

class Fingerprint {
public:
    /// Feeds bytes; callers separate fields themselves (e.g. "name=value;").
    Fingerprint& add(std::string_view text);
    /// Feeds every parameter of `schema` as "name=value;", read through the typed getters so that
    /// `x = 20` and `x = 20.0` hash the same (floats as %.17g, string lists joined by \x1f).
    Fingerprint& add_params(const std::vector<ParamSpec>& schema, const Params& params);
    /// The digest so far.
    std::uint64_t value() const { return hash_; }
    /// The digest as 16 lower-case hex digits.
    std::string hex() const;

private:
    std::uint64_t hash_ = 0xCBF29CE484222325ull;
};

/// SplitMix64 finaliser: a well-mixed 64-bit value from any 64-bit input. Dataset plugins use it to
/// derive per-record seeds and hashed split ranks that do not depend on thread count or order.
inline std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

}  // namespace ecgbench
