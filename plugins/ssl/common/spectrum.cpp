#include "common/spectrum.hpp"

#include <ATen/ATen.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace ecgbench::masked {

at::Tensor log_magnitude_spectrum(const at::Tensor& patches) {
    if (patches.dim() < 1 || patches.size(-1) < 2)
        throw std::invalid_argument("log_magnitude_spectrum: patches need at least 2 samples in their last dimension");
    return at::fft_rfft(patches.to(at::kFloat), /*n=*/c10::nullopt, /*dim=*/-1, /*norm=*/"ortho").abs().log1p();
}

}  // namespace ecgbench::masked
