// The cmsc plugin (CLOCS): the views each variant hands the encoder (segments, lead subsets, both),
// which of them are positives (records, patients, views without leads), the patient-grouped epoch
// order, parameter checks, and that the loss trains.
#include "unit/plugins/ssl_method_support.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace {

using namespace test_support;

// An encoder that keeps what it was called with: a linear map of each lead's mean and SD.
class RecordingEncoder final : public ecgbench::Encoder {
public:
    explicit RecordingEncoder(std::int64_t leads) : weight_(register_parameter("weight", at::randn({2 * leads, 8}))) {}
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& batch) override {
        seen = batch;
        return {at::cat({batch.signals.mean(-1), batch.signals.std(-1)}, 1).mm(weight_).tanh(), {}};
    }
    std::int64_t embedding_dim() const override { return 8; }
    ecgbench::EncoderBatch seen;

private:
    at::Tensor weight_;
};

constexpr std::int64_t kB = 4, kLeads = 4, kSamples = 100;

struct Run {
    ecgbench::EncoderBatch seen;
    double positives_per_anchor;
};

Run run_once(const std::map<std::string, ecgbench::ParamValue>& params, const ecgbench::Batch& batch) {
    at::manual_seed(0);
    RecordingEncoder encoder(kLeads);
    auto method = make_method("cmsc", params);
    ecgbench::PretrainContext context;
    context.input = encoder_input(kLeads, kSamples);
    context.embedding_dim = encoder.embedding_dim();
    method->setup(encoder, context);
    const auto loss = method->loss(encoder, batch);
    EXPECT_TRUE(std::isfinite(loss.total.item<double>()));
    return {encoder.seen, loss.terms.at("positives_per_anchor").item<double>()};
}

at::Tensor leads_mask(std::initializer_list<int> present) {
    at::Tensor m = at::zeros({kLeads}, at::kBool);
    for (int l : present) m[l] = true;
    return m;
}

TEST(Cmsc, SegmentViewsAreAdjacentHalvesOfEachRecord) {
    const auto batch = fixed_batch(kB, kLeads, kSamples);
    const auto run = run_once({{"variant", std::string("cmsc")}}, batch);
    ASSERT_EQ(run.seen.signals.sizes(), (std::vector<std::int64_t>{2 * kB, kLeads, kSamples / 2}));
    EXPECT_TRUE(at::equal(run.seen.signals.narrow(0, 0, kB), batch.signals.narrow(2, 0, 50)));
    EXPECT_TRUE(at::equal(run.seen.signals.narrow(0, kB, kB), batch.signals.narrow(2, 50, 50)));
    EXPECT_TRUE(run.seen.lead_present.all().item<bool>());
    EXPECT_DOUBLE_EQ(run.positives_per_anchor, 1.0);  // distinct subjects: the other segment only

    // Three segments of ⌊100/3⌋ = 33 samples (the last sample is dropped): two positives each.
    const auto three = run_once({{"variant", std::string("cmsc")}, {"segments", std::int64_t{3}}}, batch);
    ASSERT_EQ(three.seen.signals.sizes(), (std::vector<std::int64_t>{3 * kB, kLeads, 33}));
    EXPECT_TRUE(at::equal(three.seen.signals.narrow(0, 2 * kB, kB), batch.signals.narrow(2, 66, 33)));
    EXPECT_DOUBLE_EQ(three.positives_per_anchor, 2.0);
}

TEST(Cmsc, LeadViewsAreDisjointLeadSubsetsMarkedAbsent) {
    const auto batch = fixed_batch(kB, kLeads, kSamples);
    const auto run = run_once({{"variant", std::string("cmlc")}}, batch);
    ASSERT_EQ(run.seen.signals.sizes(), (std::vector<std::int64_t>{2 * kB, kLeads, kSamples}));
    // Lead j in subset j mod 2: view 0 has leads 0 and 2, view 1 leads 1 and 3, the rest zero.
    const at::Tensor even = leads_mask({0, 2}), odd = leads_mask({1, 3});
    for (std::int64_t i = 0; i < kB; ++i) {
        EXPECT_TRUE(at::equal(run.seen.lead_present[i], even));
        EXPECT_TRUE(at::equal(run.seen.lead_present[kB + i], odd));
    }
    EXPECT_TRUE(at::equal(run.seen.signals.narrow(0, 0, kB), batch.signals * even.view({1, kLeads, 1})));
    EXPECT_TRUE(at::equal(run.seen.signals.narrow(0, kB, kB), batch.signals * odd.view({1, kLeads, 1})));
    EXPECT_DOUBLE_EQ(run.positives_per_anchor, 1.0);
    EXPECT_DOUBLE_EQ(run_once({{"variant", std::string("cmlc")}, {"lead_views", std::int64_t{4}}}, batch).positives_per_anchor, 3.0);
}

TEST(Cmsc, BothVariantCombinesSegmentsAndLeadSubsets) {
    const auto batch = fixed_batch(kB, kLeads, kSamples);
    const auto run = run_once({{"variant", std::string("cmsmlc")}}, batch);
    // (segment 0, even), (segment 0, odd), (segment 1, even), (segment 1, odd).
    ASSERT_EQ(run.seen.signals.sizes(), (std::vector<std::int64_t>{4 * kB, kLeads, kSamples / 2}));
    const at::Tensor odd = leads_mask({1, 3});
    EXPECT_TRUE(at::equal(run.seen.signals.narrow(0, 3 * kB, kB), batch.signals.narrow(2, 50, 50) * odd.view({1, kLeads, 1})));
    EXPECT_TRUE(at::equal(run.seen.lead_present[3 * kB], odd));
    EXPECT_DOUBLE_EQ(run.positives_per_anchor, 3.0);  // the record's three other views
}

TEST(Cmsc, RecordsOfOneSubjectArePositivesUnlessSwitchedOff) {
    auto batch = fixed_batch(kB, kLeads, kSamples);
    batch.subjects = at::tensor({5, 5, 9, 9}, at::kLong);
    // Two views × two records of the subject, minus the anchor itself.
    EXPECT_DOUBLE_EQ(run_once({{"variant", std::string("cmsc")}}, batch).positives_per_anchor, 3.0);
    EXPECT_DOUBLE_EQ(run_once({{"variant", std::string("cmsmlc")}}, batch).positives_per_anchor, 7.0);
    EXPECT_DOUBLE_EQ(run_once({{"variant", std::string("cmsc")}, {"patient_positives", false}}, batch).positives_per_anchor, 1.0);
    batch.subjects = at::Tensor();  // a dataset without subject ids: views of the record only
    EXPECT_DOUBLE_EQ(run_once({{"variant", std::string("cmsc")}}, batch).positives_per_anchor, 1.0);
}

// A record without any lead of subset 0 has no view there: its other view stays as an anchor (a
// negative for the others) but has no positive. Usable views 7: six with one positive, one with none.
TEST(Cmsc, ViewsWithoutLeadsAreLeftOut) {
    auto batch = fixed_batch(kB, kLeads, kSamples);
    batch.lead_present[0][0] = false;
    batch.lead_present[0][2] = false;
    batch.signals[0][0].zero_();
    batch.signals[0][2].zero_();
    EXPECT_NEAR(run_once({{"variant", std::string("cmlc")}}, batch).positives_per_anchor, 6.0 / 7.0, 1e-6);
}

TEST(Cmsc, EpochOrderGroupsRecordsBySubject) {
    ecgbench::EcgSplit data;
    const std::int64_t n = 60;
    data.signals = at::zeros({n, 1, 4});
    data.subjects = at::arange(n, at::kLong).remainder(20);  // 20 subjects × 3 records, interleaved
    auto method = make_method("cmsc");
    at::Generator generator = at::detail::createCPUGenerator(7);
    const at::Tensor order = method->epoch_order(data, 1, generator);
    ASSERT_TRUE(order.defined());
    ASSERT_EQ(order.numel(), n);
    EXPECT_TRUE(at::equal(std::get<0>(order.sort()), at::arange(n, at::kLong))) << "a permutation of every row";
    // Each subject's rows are consecutive.
    std::set<std::int64_t> finished;
    std::int64_t current = -1;
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t s = data.subjects[order[i].item<std::int64_t>()].item<std::int64_t>();
        if (s != current) {
            EXPECT_TRUE(finished.insert(s).second) << "subject " << s << " appears in two runs";
            current = s;
        }
    }
    EXPECT_EQ(finished.size(), 20u);
    // Another epoch draws another order; without patient positives the host shuffles as usual.
    EXPECT_FALSE(at::equal(method->epoch_order(data, 2, generator), order));
    EXPECT_FALSE(make_method("cmsc", {{"patient_positives", false}})->epoch_order(data, 1, generator).defined());
}

TEST(Cmsc, ParametersAreValidated) {
    EXPECT_THROW(ssl_params("cmsc", {{"variant", std::string("cpc")}}), std::invalid_argument);
    EXPECT_THROW(ssl_params("cmsc", {{"segments", std::int64_t{1}}}), std::invalid_argument);
    EXPECT_THROW(ssl_params("cmsc", {{"temperature", 0.0}}), std::invalid_argument);
    RecordingEncoder encoder(kLeads);
    ecgbench::PretrainContext context;
    context.input = encoder_input(kLeads, kSamples);
    context.embedding_dim = encoder.embedding_dim();
    try {
        make_method("cmsc", {{"variant", std::string("cmlc")}, {"lead_views", std::int64_t{5}}})->setup(encoder, context);
        FAIL() << "5 lead subsets of 4 leads must be refused";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("lead_views"), std::string::npos) << e.what();
    }
    // lead_views is not used by "cmsc", so it is not checked against the leads there.
    EXPECT_NO_THROW(make_method("cmsc", {{"lead_views", std::int64_t{5}}})->setup(encoder, context));
}

TEST(Cmsc, LossIsFiniteAndDecreasesOnAFixedBatchForEveryVariant) {
    for (const std::string variant : {"cmsc", "cmlc", "cmsmlc"}) {
        SCOPED_TRACE(variant);
        at::manual_seed(0);
        const auto encoder = resnet_xs(4, 256);
        auto method = make_method("cmsc", {{"variant", variant}});
        method->setup(*encoder, pretrain_context(*encoder, 4, 256));
        const auto losses = train_on_batch(*method, *encoder, fixed_batch(8, 4, 256), 20);
        for (double l : losses) ASSERT_TRUE(std::isfinite(l));
        EXPECT_LT(mean_of(losses, 15, 20), mean_of(losses, 0, 5)) << "first " << losses.front() << " last " << losses.back();
    }
}

}  // namespace
