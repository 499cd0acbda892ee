#include "common/splits.hpp"

#include "common/text.hpp"
#include "ecgbench/fingerprint.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace ecgbench::datasets {

std::map<std::string, Split> hashed_subject_splits(const std::set<std::string>& subjects, double val_fraction,
                                                   double test_fraction, std::uint64_t seed) {
    std::vector<std::pair<std::uint64_t, std::string>> ranked;
    ranked.reserve(subjects.size());
    for (const auto& s : subjects) ranked.emplace_back(splitmix64(Fingerprint().add(s).value() ^ splitmix64(seed)), s);
    std::sort(ranked.begin(), ranked.end());
    const auto n = static_cast<std::int64_t>(ranked.size());
    auto count = [n](double fraction) {
        std::int64_t k = std::llround(fraction * static_cast<double>(n));
        if (fraction > 0 && n >= 3) k = std::max<std::int64_t>(k, 1);
        return k;
    };
    std::int64_t val = count(val_fraction), test = count(test_fraction);
    while (val + test >= n && (val > 0 || test > 0)) (test >= val ? test : val) -= 1;  // keep >= 1 train
    std::map<std::string, Split> out;
    for (std::int64_t k = 0; k < n; ++k) {
        out[ranked[static_cast<std::size_t>(k)].second] = k < val ? Split::Val : k < val + test ? Split::Test : Split::Train;
    }
    return out;
}

std::string hashed_split_rule(const std::string& unit, double val_fraction, double test_fraction) {
    return "patient-disjoint: " + unit + " ranked by a hash of (seed, name); first " + format_number(val_fraction) +
           " val, next " + format_number(test_fraction) +
           " test, rest train (at least one each when fraction > 0 and >= 3 subjects)";
}

}  // namespace ecgbench::datasets
