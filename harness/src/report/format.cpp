#include "report/format.hpp"

#include <cstdio>

namespace ecgbench {

std::string fixed(double value, int digits) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

std::string signed_fixed(double value, int digits) {
    std::string text = fixed(value, digits);
    if (value >= 0) text.insert(text.begin(), '+');
    return text;
}

}  // namespace ecgbench
