#include "train/batch_loader.hpp"

#include "ecgbench/train.hpp"

#include <ATen/ATen.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ecgbench {

BatchLoader::BatchLoader(const EcgSplit& data, at::Tensor order, std::int64_t batch_size, std::int64_t batches,
                         LoaderOptions options)
    : data_(data), order_(std::move(order)), batch_size_(batch_size), batches_(batches), options_(options) {
    if (batch_size_ < 1) throw std::invalid_argument("BatchLoader: batch_size must be >= 1");
    if (batches_ * batch_size_ > order_.numel()) throw std::invalid_argument("BatchLoader: more batches than the order covers");
    options_.prefetch = std::max(1, options_.prefetch);
    if (options_.workers <= 0) return;
    slots_.resize(static_cast<std::size_t>(options_.prefetch));
    ready_.assign(slots_.size(), 0);
    const int threads = std::min<std::int64_t>(options_.workers, std::max<std::int64_t>(1, batches_));
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    for (auto& w : workers_) w.join();
}

namespace {

/// Asks the kernel to read the pages of `rows` of a [N, ...] tensor in, all at once: for a
/// memory-mapped shard one request per record instead of a page fault per 4 KiB (harmless for
/// memory that is already resident).
void will_need(const at::Tensor& data, const at::Tensor& rows) {
    if (!data.is_contiguous() || data.numel() == 0) return;
    static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto row_bytes = static_cast<std::uintptr_t>(data.stride(0) * data.element_size());
    const auto base = reinterpret_cast<std::uintptr_t>(data.data_ptr());
    const std::int64_t* r = rows.data_ptr<std::int64_t>();
    for (std::int64_t k = 0; k < rows.numel(); ++k) {
        const std::uintptr_t begin = base + static_cast<std::uintptr_t>(r[k]) * row_bytes;
        const std::uintptr_t aligned = begin & ~(page - 1);
        ::madvise(reinterpret_cast<void*>(aligned), begin + row_bytes - aligned, MADV_WILLNEED);
    }
}

}  // namespace

Batch BatchLoader::gather(std::int64_t batch) const {
    const at::Tensor index = order_.slice(0, batch * batch_size_, (batch + 1) * batch_size_).contiguous();
    will_need(data_.signals, index);
    Batch out = gather_batch(data_, index);
    const at::Tensor bad = at::isfinite(out.signals).flatten(1).all(1).logical_not();
    if (bad.any().item<bool>()) {
        const auto row = index[bad.nonzero()[0][0].item<std::int64_t>()].item<std::int64_t>();
        const auto id = static_cast<std::size_t>(row) < data_.record_ids.size() ? " '" + data_.record_ids[static_cast<std::size_t>(row)] + "'" : "";
        throw std::invalid_argument("pretraining data: record " + std::to_string(row) + id + " has NaN or infinite samples");
    }
    if (options_.pin_memory) {
        for (at::Tensor* t : {&out.signals, &out.lead_present, &out.labels, &out.subjects})
            if (t->defined()) *t = t->pin_memory();
    }
    return out;
}

void BatchLoader::work() {
    for (;;) {
        std::int64_t batch;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            // Claim the next batch once its slot is free: at most `prefetch` batches exist at once.
            changed_.wait(lock, [&] { return stopping_ || claimed_ >= batches_ || claimed_ < taken_ + options_.prefetch; });
            if (stopping_ || claimed_ >= batches_) return;
            batch = claimed_++;
        }
        Batch gathered;
        std::exception_ptr error;
        try {
            gathered = gather(batch);
        } catch (...) {
            error = std::current_exception();
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (error) {
                // Keep the earliest failing batch: next() raises it exactly when that batch is due.
                if (!failure_ || batch < failed_batch_) {
                    failure_ = error;
                    failed_batch_ = batch;
                }
                stopping_ = true;  // batches before it were claimed already and are still delivered
            } else {
                const auto slot = static_cast<std::size_t>(batch % options_.prefetch);
                slots_[slot] = std::move(gathered);
                ready_[slot] = 1;
            }
        }
        changed_.notify_all();
        if (error) return;
    }
}

Batch BatchLoader::next() {
    if (taken_ >= batches_) throw std::logic_error("BatchLoader::next: the epoch has no batches left");
    if (workers_.empty()) return gather(taken_++);
    std::unique_lock<std::mutex> lock(mutex_);
    const auto slot = static_cast<std::size_t>(taken_ % options_.prefetch);
    changed_.wait(lock, [&] { return ready_[slot] || (failure_ && taken_ >= failed_batch_); });
    if (!ready_[slot]) std::rethrow_exception(failure_);
    Batch out = std::move(slots_[slot]);
    slots_[slot] = {};
    ready_[slot] = 0;
    ++taken_;
    lock.unlock();
    changed_.notify_all();
    return out;
}

}  // namespace ecgbench
