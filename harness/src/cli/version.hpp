// `ecgbench --version`: what a bug report or a results table needs to know about this build.
#pragma once

#include <string>

namespace ecgbench {

/// The git commit this binary was built from ("+dirty" with local changes; "unknown" when built
/// outside a git checkout).
std::string build_git_commit();

/// Several lines: ecgbench version, git commit, LibTorch version and the devices it can use, the
/// BLAS library mapped, the compiler.
std::string version_text();

}  // namespace ecgbench
