// Seeded randomness for the synthetic cohort: one independent stream per (seed, site, purpose,
// index), our own uniform/normal transforms, so output never depends on the standard library's
// distribution implementations or on the thread count.
#pragma once

#include "ecgbench/fingerprint.hpp"  // splitmix64

#include <cmath>
#include <cstdint>
#include <numbers>

namespace ecgbench::synth {

/// What a stream is for: streams never share a sequence, so e.g. the report text or the missing
/// covariates can change without changing a single signal sample.
enum class Stream : std::uint64_t {
    Subject = 1, Visit = 2, Noise = 3, Covariates = 4, Split = 5, Site = 6, Report = 7, Bank = 8
};

inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t site, Stream stream, std::uint64_t index) {
    std::uint64_t h = splitmix64(seed);
    h = splitmix64(h ^ splitmix64(site + 0x51ull));
    h = splitmix64(h ^ splitmix64(static_cast<std::uint64_t>(stream) + 0xA3ull));
    return splitmix64(h ^ splitmix64(index + 0xC7ull));
}

/// xoshiro256** (Blackman & Vigna): small state, fast, good statistical quality.
class Rng {
public:
    explicit Rng(std::uint64_t seed) {
        for (auto& word : s_) word = seed = splitmix64(seed);
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    /// Uniform in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    bool chance(double p) { return uniform() < p; }
    /// Box-Muller, caching the second variate.
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));  // 1-u lies in (0, 1]
        const double angle = 2.0 * std::numbers::pi * uniform();
        spare_ = radius * std::sin(angle);
        has_spare_ = true;
        return radius * std::cos(angle);
    }
    double normal(double mean, double sd) { return mean + sd * normal(); }
    /// exp(N(0, sd^2)): a positive factor around 1.
    double lognormal(double sd) { return std::exp(sd * normal()); }
    /// Index drawn with the given (unnormalised) weights.
    template <typename Weights>
    int pick(const Weights& weights) {
        double total = 0;
        for (double w : weights) total += w;
        double u = uniform() * total;
        int i = 0;
        for (double w : weights) {
            if (u < w) return i;
            u -= w;
            ++i;
        }
        return i - 1;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4]{};
    bool has_spare_ = false;
    double spare_ = 0;
};

}  // namespace ecgbench::synth
