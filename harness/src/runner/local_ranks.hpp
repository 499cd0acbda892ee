// `ecgbench run --nproc N`: data-parallel pretraining on one machine. This process becomes rank 0
// and starts N-1 copies of itself (the same command line) as ranks 1..N-1, which find the group
// through ECGBENCH_RANK / ECGBENCH_WORLD_SIZE / ECGBENCH_RENDEZVOUS (train/data_parallel.hpp).
// The copies die with this process (PR_SET_PDEATHSIG), so a killed run leaves no orphan waiting.
#pragma once

#include "train/data_parallel.hpp"

#include <sys/types.h>

#include <vector>

namespace ecgbench {

class LocalRanks {
public:
    /// Starts ranks 1..nproc-1 running argv (argv[0] is replaced by this executable's path).
    LocalRanks(int nproc, char** argv);
    ~LocalRanks();  ///< kills ranks still running and removes the rendezvous file
    LocalRanks(const LocalRanks&) = delete;
    LocalRanks& operator=(const LocalRanks&) = delete;

    /// Rank 0's place in the group.
    const Rendezvous& rendezvous() const { return rendezvous_; }
    /// Waits for ranks 1..N-1 to exit; returns how many failed (non-zero exit or a signal).
    int wait();

private:
    Rendezvous rendezvous_;
    std::vector<pid_t> children_;
};

}  // namespace ecgbench
