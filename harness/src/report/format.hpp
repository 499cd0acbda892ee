// Number formatting shared by the report renderers and the comparison tables.
#pragma once

#include <string>

namespace ecgbench {

/// `value` with `digits` decimals ("%.*f").
std::string fixed(double value, int digits);
/// The same with a sign: "+0.012", "-0.030".
std::string signed_fixed(double value, int digits);

}  // namespace ecgbench
