// Applies a ShiftDecl (shift_decl.hpp) to a split.
#pragma once

#include "ecgbench/dataset.hpp"
#include "shift/shift_decl.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ecgbench {

/// A shifted copy of `split` (leads named `lead_names`, at `sampling_rate_hz`). Deterministic in
/// `seed`; the input is not modified. The steps apply in the order a recording meets them: noise
/// (at the electrodes), the device's band, its sampling rate, then the lead subset. Throws
/// std::invalid_argument naming a lead the data lacks, or a corner or rate the data's rate cannot
/// carry (a corner at or above Nyquist, a resampling rate not below the data's).
EcgSplit apply_shift(const EcgSplit& split, const ShiftDecl& shift, const std::vector<std::string>& lead_names,
                     double sampling_rate_hz, std::uint64_t seed);

}  // namespace ecgbench
