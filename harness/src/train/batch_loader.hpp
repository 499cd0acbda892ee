// Gathers training batches on worker threads while the model trains on the previous ones. With a
// memory-mapped shard, the page faults of a batch (disk reads when the split is larger than RAM)
// happen on a worker instead of stalling the training step, each record's pages are requested in
// one go (MADV_WILLNEED; the shard itself is mapped MADV_RANDOM, so nothing else is read ahead),
// and at most `prefetch` batches are held.
//
// Batch b of an epoch is the rows order[b*B, (b+1)*B) of the split, whatever the worker count:
// the batches, and so training, are identical to gathering them on the training thread.
#pragma once

#include "ecgbench/batch.hpp"
#include "ecgbench/dataset.hpp"

#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ecgbench {

struct LoaderOptions {
    int workers = 1;   ///< gathering threads (0 or less: gather on the caller's thread, in next())
    int prefetch = 4;  ///< batches gathered ahead of the one being trained on (bounds memory)
    /// Gather into page-locked memory, so the copy to a CUDA device can run asynchronously
    /// (non_blocking); the engine sets it when it trains on CUDA. Needs a CUDA build of LibTorch.
    bool pin_memory = false;
};

class BatchLoader {
public:
    /// Batches over `data` in the order `order` (int64 [N]), `batches` batches of `batch_size`
    /// (every Batch field gathered, on the CPU).
    BatchLoader(const EcgSplit& data, at::Tensor order, std::int64_t batch_size, std::int64_t batches,
                LoaderOptions options = {});
    ~BatchLoader();  ///< stops and joins the workers (batches not taken are discarded)
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;

    /// The next batch, in order; blocks until it is gathered. Rethrows what a worker threw (e.g. a
    /// batch with NaN samples, naming the record) when that batch is due, as gathering on the
    /// calling thread would. Only valid while batches remain.
    Batch next();
    std::int64_t remaining() const { return batches_ - taken_; }

private:
    Batch gather(std::int64_t batch) const;
    void work();

    const EcgSplit& data_;
    at::Tensor order_;
    std::int64_t batch_size_, batches_;
    LoaderOptions options_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Batch> slots_;       ///< batch b lives in slots_[b % prefetch] until taken
    std::vector<char> ready_;            ///< per slot
    std::int64_t claimed_ = 0;           ///< next batch a worker will gather
    std::int64_t taken_ = 0;             ///< next batch next() returns
    bool stopping_ = false;
    std::exception_ptr failure_;         ///< of the earliest batch that failed
    std::int64_t failed_batch_ = 0;
    std::vector<std::thread> workers_;
};

}  // namespace ecgbench
