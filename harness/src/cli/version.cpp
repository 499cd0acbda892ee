#include "cli/version.hpp"

#include "runner/provenance.hpp"

#include "ecgbench_git_commit.hpp"  // generated at build time (cmake/git_commit.cmake)

#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <sstream>

namespace ecgbench {

std::string build_git_commit() { return ECGBENCH_GIT_COMMIT; }

std::string version_text() {
    std::ostringstream out;
    out << "ecgbench " << ECGBENCH_VERSION << "\n";
    out << "git commit: " << build_git_commit() << "\n";
    out << "LibTorch " << TORCH_VERSION << ": CPU";
    if (!at::hasCUDA()) {
        out << "; CUDA not built in";
    } else {
        const auto devices = torch::cuda::device_count();
        out << "; CUDA built in, " << devices << " device" << (devices == 1 ? "" : "s") << " visible";
    }
    out << "\nBLAS: " << blas_library() << "\n";
    out << "compiler: " << __VERSION__ << "\n";
    return out.str();
}

}  // namespace ecgbench
