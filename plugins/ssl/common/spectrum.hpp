// Frequency-domain reconstruction targets for masked-token methods (mtfp): the log-magnitude
// spectrum of each patch, so a decoder can be asked for a hidden patch's frequency content as well
// as its samples.
#pragma once

#include <ATen/core/Tensor.h>

namespace ecgbench::masked {

/// log(1 + |X_f|) for X = rFFT of the last dimension with orthonormal scaling (X_f = Σ_t x_t
/// e^{−2πi f t / K} / √K, so the spectrum's energy is the patch's): float [..., K] → [..., ⌊K/2⌋ + 1],
/// bins f = 0 … ⌊K/2⌋. log1p keeps silent bins at 0 instead of −∞. Throws std::invalid_argument
/// for K < 2 (no spectrum to speak of).
at::Tensor log_magnitude_spectrum(const at::Tensor& patches);

}  // namespace ecgbench::masked
