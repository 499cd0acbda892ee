// The pretraining batch loader: the same batches, in the same order, as gathering them on the
// training thread, for any worker count and prefetch depth; errors surface; early stops join.
#include "train/batch_loader.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

using namespace ecgbench;

namespace {

EcgSplit numbered(std::int64_t n) {
    EcgSplit s;
    // Record i holds the value i everywhere, so a batch's content says which rows it gathered.
    s.signals = at::arange(n, at::kFloat).reshape({n, 1, 1}).expand({n, 2, 8}).contiguous();
    s.lead_present = at::ones({n, 2}, at::kBool);
    s.labels = at::arange(n, at::kFloat).reshape({n, 1});
    s.subjects = at::arange(n, at::kLong) * 10;
    for (std::int64_t i = 0; i < n; ++i) s.record_ids.push_back("rec" + std::to_string(i));
    return s;
}

}  // namespace

TEST(BatchLoader, SameBatchesInOrderForAnyWorkerCount) {
    const EcgSplit data = numbered(50);
    const at::Tensor order = at::randperm(50, at::kLong);
    constexpr std::int64_t batch = 7, batches = 7;  // 49 of 50 records: the ragged tail is left out
    for (int workers : {0, 1, 3}) {
        for (int prefetch : {1, 2, 8}) {
            BatchLoader loader(data, order, batch, batches, {workers, prefetch});
            for (std::int64_t b = 0; b < batches; ++b) {
                ASSERT_EQ(loader.remaining(), batches - b);
                const Batch got = loader.next();
                const at::Tensor rows = order.slice(0, b * batch, (b + 1) * batch);
                ASSERT_TRUE(at::equal(got.signals, data.signals.index_select(0, rows)))
                    << "workers " << workers << " prefetch " << prefetch << " batch " << b;
                EXPECT_TRUE(at::equal(got.labels, data.labels.index_select(0, rows)));
                EXPECT_TRUE(at::equal(got.subjects, rows * 10));
                EXPECT_EQ(got.lead_present.sizes(), (at::IntArrayRef{batch, 2}));
            }
            EXPECT_EQ(loader.remaining(), 0);
            EXPECT_THROW(loader.next(), std::logic_error);
        }
    }
}

TEST(BatchLoader, ANonFiniteRecordIsNamed) {
    EcgSplit data = numbered(20);
    data.signals[13][1][4] = NAN;
    const at::Tensor order = at::arange(20, at::kLong);
    for (int workers : {0, 2}) {
        BatchLoader loader(data, order, 5, 4, {workers, 2});
        for (int b = 0; b < 2; ++b) EXPECT_NO_THROW(loader.next()) << b;  // rows 0-9 are clean
        try {
            loader.next();  // rows 10-14
            FAIL() << "expected std::invalid_argument";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("record 13 'rec13'"), std::string::npos) << e.what();
        }
    }
}

TEST(BatchLoader, StoppingEarlyJoinsTheWorkers) {
    const EcgSplit data = numbered(400);
    for (int taken : {0, 1, 5}) {
        BatchLoader loader(data, at::randperm(400, at::kLong), 4, 100, {3, 2});
        for (int b = 0; b < taken; ++b) loader.next();
    }  // the destructor must return although workers wait for free slots
    SUCCEED();
}
