// Data-parallel training over PyTorch's distributed backend as LibTorch ships it (c10d): a
// ProcessGroupGloo on the CPU (the Debian LibTorch 1.13 build has Gloo; NCCL only in CUDA builds),
// rendezvous through a c10d FileStore on a path every rank sees (a local temporary file for
// `ecgbench run --nproc N`, a file beside the store on the shared filesystem under `srun`).
//
// Internal to the engine and the runner: plugins never see it. The c10d and Gloo headers stay in
// data_parallel.cpp.
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace ecgbench {

/// Where a process sits in a data-parallel group and how the group meets.
struct Rendezvous {
    int rank = 0;
    int world_size = 1;
    std::string file;       ///< the c10d FileStore path (same for every rank)
    bool loopback = false;  ///< all ranks on this host: Gloo over 127.0.0.1
};

/// The rendezvous the environment describes: ECGBENCH_RANK, ECGBENCH_WORLD_SIZE and
/// ECGBENCH_RENDEZVOUS (set by `run --nproc`), else SLURM_PROCID / SLURM_NTASKS of an `srun` step
/// with the FileStore at `<shared_dir>/rendezvous/<job>.<step>`. nullopt when neither is set.
/// Throws std::invalid_argument naming the variable when one is malformed.
std::optional<Rendezvous> rendezvous_from_environment(const std::string& shared_dir);

class DataParallel {
public:
    /// Joins the group (blocks until every rank has joined, or `timeout_s` passes). Collectives
    /// that wait longer than `timeout_s` for a rank throw, so a rank that died does not hang the
    /// others forever.
    explicit DataParallel(const Rendezvous& rendezvous, int timeout_s = 600);
    ~DataParallel();
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    int rank() const { return rank_; }
    int world_size() const { return world_size_; }

    /// Sums a contiguous CPU tensor over the ranks, in place.
    void all_reduce_sum(at::Tensor& tensor);
    /// Copies rank `root`'s tensor into every rank's (same shape and dtype on every rank).
    void broadcast(at::Tensor& tensor, int root = 0);

    /// Rank 0 tells the other ranks what to do next (messages are numbered, read in order).
    void post(const std::string& message);
    /// The next message rank 0 posted; polls, and returns "" when `stop` is set first.
    std::string next_message(const std::atomic<bool>* stop);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int rank_ = 0, world_size_ = 1;
    long posted_ = 0, read_ = 0;
};

}  // namespace ecgbench
