#include "runner/local_ranks.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ecgbench {

LocalRanks::LocalRanks(int nproc, char** argv) {
    if (nproc < 2) throw std::invalid_argument("--nproc must be at least 2 to start data-parallel ranks");
    const auto dir = std::filesystem::temp_directory_path();
    rendezvous_.rank = 0;
    rendezvous_.world_size = nproc;
    rendezvous_.loopback = true;
    rendezvous_.file = (dir / ("ecgbench-rendezvous-" + std::to_string(::getpid()))).string();
    std::filesystem::remove(rendezvous_.file);  // a stale file from a reused pid would hold old keys
    const pid_t parent = ::getpid();
    for (int rank = 1; rank < nproc; ++rank) {
        const pid_t pid = ::fork();
        if (pid < 0) throw std::system_error(errno, std::generic_category(), "starting data-parallel rank " + std::to_string(rank));
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(1);  // rank 0 died before the line above took effect
            ::setenv("ECGBENCH_RANK", std::to_string(rank).c_str(), 1);
            ::setenv("ECGBENCH_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
            ::setenv("ECGBENCH_RENDEZVOUS", rendezvous_.file.c_str(), 1);
            ::execv("/proc/self/exe", argv);
            ::_exit(127);
        }
        children_.push_back(pid);
    }
}

int LocalRanks::wait() {
    int failed = 0;
    for (pid_t& pid : children_) {
        if (pid <= 0) continue;
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
        pid = 0;
    }
    return failed;
}

LocalRanks::~LocalRanks() {
    for (pid_t pid : children_)
        if (pid > 0) ::kill(pid, SIGKILL);
    for (pid_t pid : children_)
        if (pid > 0) ::waitpid(pid, nullptr, 0);
    std::error_code ignored;
    std::filesystem::remove(rendezvous_.file, ignored);
}

}  // namespace ecgbench
