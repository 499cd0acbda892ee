// The `linear_probe` task plugin on toy data with hand-built encoders, and end to end on `synthetic`.
#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/task.hpp"
#include "ecgbench/metrics.hpp"
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::Metric;
using ecgbench::ParamValue;

using test_support::registry;

std::unique_ptr<ecgbench::Task> make_probe(std::map<std::string, ParamValue> given = {}) {
    const auto& plugin = registry().require("linear_probe", ecgbench::PluginKind::Task);
    return registry().make_task("linear_probe", ecgbench::validate_params(plugin.manifest().params, given));
}

/// Features = the raw samples of every lead.
class FlattenEncoder final : public ecgbench::Encoder {
public:
    explicit FlattenEncoder(std::int64_t dim) : dim_(dim) {}
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override { return {b.signals.flatten(1), {}}; }
    std::int64_t embedding_dim() const override { return dim_; }

private:
    std::int64_t dim_;
};

/// Features unrelated to the input (fresh Gaussian noise on every call).
class NoiseEncoder final : public ecgbench::Encoder {
public:
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override { return {at::randn({b.signals.size(0), 32}), {}}; }
    std::int64_t embedding_dim() const override { return 32; }
};

/// Per-lead summary statistics: a crude but sensible hand-made ECG encoder.
class StatsEncoder final : public ecgbench::Encoder {
public:
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override {
        const at::Tensor& s = b.signals;
        const at::Tensor slope = s.diff(1, 2);
        return {at::cat({s.amax(2), s.amin(2), s.std(2), slope.amax(2), slope.amin(2), slope.abs().mean(2),
                         s.slice(2, 0, -1).mul(slope).mean(2)},
                        1),
                {}};
    }
    std::int64_t embedding_dim() const override { return 7 * 12; }
};

/// A fixed random projection to 512 features (the width of a typical encoder).
class ProjectionEncoder final : public ecgbench::Encoder {
public:
    explicit ProjectionEncoder(std::int64_t in) : projection_(at::randn({in, 512})) {}
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override { return {at::tanh(b.signals.flatten(1).matmul(projection_)), {}}; }
    std::int64_t embedding_dim() const override { return 512; }

private:
    at::Tensor projection_;
};

/// Toy split: 1 lead x 8 samples. Class A is positive iff sample 0 > 0 (with a margin); class B iff
/// sample 1 + sample 2 > 0; class C is always negative. The remaining samples are noise.
ecgbench::EcgSplit toy_split(std::int64_t n, std::uint64_t seed) {
    at::manual_seed(seed);
    ecgbench::EcgSplit s;
    at::Tensor x = at::randn({n, 1, 8});
    const at::Tensor a = at::rand({n}) < 0.4;
    const at::Tensor margin = 0.5 + x.select(2, 0).select(1, 0).abs();  // [n]
    x.select(2, 0).copy_(((a.to(at::kFloat) * 2 - 1) * margin).unsqueeze(1));
    const at::Tensor b = (x.select(1, 0).select(1, 1) + x.select(1, 0).select(1, 2)) > 0;
    s.signals = x;
    s.lead_present = at::ones({n, 1}, at::kBool);
    s.labels = at::stack({a.to(at::kFloat), b.to(at::kFloat), at::zeros({n})}, 1);
    s.subjects = at::arange(n, at::kLong);
    for (std::int64_t i = 0; i < n; ++i) s.record_ids.push_back("toy-" + std::to_string(i));
    return s;
}

ecgbench::DatasetInfo toy_info() {
    ecgbench::DatasetInfo info;
    info.name = "toy";
    info.sampling_rate_hz = 8;
    info.samples = 8;
    info.leads = {"II"};
    info.classes = {"A", "B", "C"};
    return info;
}

const Metric* find(const std::vector<Metric>& metrics, const std::string& name, const std::string& split) {
    for (const auto& m : metrics) {
        if (m.name == name && m.split == split) return &m;
    }
    return nullptr;
}

ecgbench::TaskResult run_probe_full(ecgbench::Encoder& encoder, const ecgbench::DatasetInfo& info,
                                    const ecgbench::EcgSplit& train, const ecgbench::EcgSplit& val,
                                    const ecgbench::EcgSplit& test, std::vector<std::string>* log = nullptr,
                                    std::map<std::string, ParamValue> params = {}) {
    // A non-owning pointer: the tests' encoders live on their stacks.
    const ecgbench::EncoderPtr borrowed(std::shared_ptr<ecgbench::Encoder>{}, &encoder);
    ecgbench::EvalContext ctx{borrowed, {}, {}, torch::kCPU, info, train, val, test, 1234, [log](const std::string& line) {
                                  if (log) log->push_back(line);
                              }};
    return make_probe(params)->evaluate(ctx);
}

std::vector<Metric> run_probe(ecgbench::Encoder& encoder, const ecgbench::DatasetInfo& info,
                              const ecgbench::EcgSplit& train, const ecgbench::EcgSplit& val,
                              const ecgbench::EcgSplit& test, std::vector<std::string>* log = nullptr,
                              std::map<std::string, ParamValue> params = {}) {
    return run_probe_full(encoder, info, train, val, test, log, std::move(params)).metrics;
}

// The per-record outputs the host stores: one row of logits per test record, by id, and the
// stored logits reproduce the reported AUROC.
TEST(LinearProbe, ReturnsLogitsForEveryTestRecord) {
    FlattenEncoder encoder(8);
    const auto train = toy_split(300, 1), val = toy_split(100, 2), test = toy_split(100, 3);
    const auto result = run_probe_full(encoder, toy_info(), train, val, test);
    ASSERT_EQ(result.outputs.size(), 2u);
    EXPECT_EQ(result.outputs[1].kind, "labels");
    EXPECT_TRUE(at::equal(result.outputs[1].values, test.labels.to(at::kFloat)));
    EXPECT_EQ(result.outputs[1].record_ids, test.record_ids);
    const auto& out = result.outputs.front();
    EXPECT_EQ(out.split, "test");
    EXPECT_EQ(out.kind, "logits");
    EXPECT_EQ(out.columns, (std::vector<std::string>{"A", "B", "C"}));
    EXPECT_EQ(out.record_ids, test.record_ids);
    ASSERT_EQ(out.values.sizes(), (std::vector<std::int64_t>{100, 3}));
    const at::Tensor scores = out.values.select(1, 0).to(at::kDouble).contiguous();
    const at::Tensor labels = test.labels.select(1, 0).to(at::kInt).contiguous();
    const double auroc = ecgbench::auroc({scores.data_ptr<double>(), scores.data_ptr<double>() + 100},
                                         {labels.data_ptr<int>(), labels.data_ptr<int>() + 100});
    const Metric* reported = find(result.metrics, "auroc/A", "test");
    ASSERT_NE(reported, nullptr);
    EXPECT_NEAR(auroc, reported->value, 1e-6);
}

TEST(LinearProbe, SeparableClassesScoreHigh) {
    FlattenEncoder encoder(8);
    const auto info = toy_info();
    const auto train = toy_split(600, 1), val = toy_split(200, 2), test = toy_split(300, 3);
    std::vector<std::string> log;
    const auto metrics = run_probe(encoder, info, train, val, test, &log);

    const Metric* macro = find(metrics, "macro_auroc", "test");
    ASSERT_NE(macro, nullptr);
    EXPECT_GT(macro->value, 0.95);
    ASSERT_TRUE(macro->ci_low && macro->ci_high);
    EXPECT_LE(*macro->ci_low, macro->value);
    EXPECT_GE(*macro->ci_high, macro->value);

    ASSERT_NE(find(metrics, "auroc/A", "test"), nullptr);
    ASSERT_NE(find(metrics, "auroc/B", "test"), nullptr);
    EXPECT_GT(find(metrics, "auroc/A", "test")->value, 0.99);
    // C has only negatives in test: not reported, not averaged.
    EXPECT_EQ(find(metrics, "auroc/C", "test"), nullptr);
    EXPECT_NEAR(macro->value,
                (find(metrics, "auroc/A", "test")->value + find(metrics, "auroc/B", "test")->value) / 2, 1e-12);

    // The other summaries: C (only negatives in test) is counted as undefined, never scored 0.5.
    ASSERT_NE(find(metrics, "undefined_classes", "test"), nullptr);
    EXPECT_EQ(find(metrics, "undefined_classes", "test")->value, 1.0);
    EXPECT_EQ(find(metrics, "undefined_classes", "test")->direction, ecgbench::Direction::LowerIsBetter);
    for (const char* name : {"micro_auroc", "weighted_auroc", "macro_auprc", "macro_f1"}) {
        ASSERT_NE(find(metrics, name, "test"), nullptr) << name;
        EXPECT_GT(find(metrics, name, "test")->value, 0.9) << name;
    }

    ASSERT_NE(find(metrics, "macro_auroc", "val"), nullptr);
    const Metric* l2 = find(metrics, "l2", "val");
    ASSERT_NE(l2, nullptr);
    EXPECT_GE(l2->value, 1e-4 * 0.999);
    EXPECT_LE(l2->value, 10.0 * 1.001);
    EXPECT_FALSE(log.empty());

    // Same seed, same numbers (bootstrap included).
    const auto again = run_probe(encoder, info, train, val, test);
    EXPECT_EQ(find(again, "macro_auroc", "test")->value, macro->value);
    EXPECT_EQ(*find(again, "macro_auroc", "test")->ci_low, *macro->ci_low);
}

TEST(LinearProbe, NoiseFeaturesScoreChance) {
    at::manual_seed(99);
    NoiseEncoder encoder;
    const auto info = toy_info();
    const auto train = toy_split(600, 4), val = toy_split(200, 5), test = toy_split(400, 6);
    at::manual_seed(100);
    const auto metrics = run_probe(encoder, info, train, val, test);
    const Metric* macro = find(metrics, "macro_auroc", "test");
    ASSERT_NE(macro, nullptr);
    EXPECT_NEAR(macro->value, 0.5, 0.15);
}

TEST(LinearProbe, LearnsThrough512WideProjection) {
    at::manual_seed(5);
    ProjectionEncoder encoder(8);
    const auto info = toy_info();
    const auto train = toy_split(700, 11), val = toy_split(150, 12), test = toy_split(150, 13);
    const auto metrics = run_probe(encoder, info, train, val, test);
    EXPECT_GT(find(metrics, "macro_auroc", "test")->value, 0.8);
}

TEST(LinearProbe, DatasetWithoutClassesIsRejected) {
    FlattenEncoder encoder(8);
    auto info = toy_info();
    info.classes.clear();
    auto split = toy_split(50, 7);
    split.labels = at::zeros({50, 0});
    EXPECT_THROW(run_probe(encoder, info, split, split, split), std::invalid_argument);
}

TEST(LinearProbe, SingleGridPointAndNoBootstrap) {
    FlattenEncoder encoder(8);
    const auto info = toy_info();
    const auto train = toy_split(300, 8), val = toy_split(100, 9), test = toy_split(100, 10);
    const auto metrics = run_probe(encoder, info, train, val, test, nullptr,
                                   {{"l2_min", 0.01}, {"l2_max", 0.01}, {"l2_steps", std::int64_t{1}},
                                    {"bootstrap_resamples", std::int64_t{0}}});
    const Metric* macro = find(metrics, "macro_auroc", "test");
    ASSERT_NE(macro, nullptr);
    EXPECT_FALSE(macro->ci_low.has_value());
    EXPECT_NEAR(find(metrics, "l2", "val")->value, 0.01, 1e-12);
}

TEST(LinearProbe, SyntheticDatasetIsLearnableFromSimpleFeatures) {
    const auto& plugin = registry().require("synthetic", ecgbench::PluginKind::Dataset);
    auto ds = registry().make_dataset(
        "synthetic", ecgbench::validate_params(plugin.manifest().params, {{"records", std::int64_t{1500}}, {"duration_s", 2.5}}));
    const auto info = ds->info();
    const auto train = ds->load(ecgbench::Split::Train, info.leads);
    const auto val = ds->load(ecgbench::Split::Val, info.leads);
    const auto test = ds->load(ecgbench::Split::Test, info.leads);
    StatsEncoder encoder;
    std::vector<std::string> log;
    const auto metrics = run_probe(encoder, info, train, val, test, &log);
    for (const auto& line : log) std::printf("%s\n", line.c_str());
    for (const auto& m : metrics) std::printf("  %s/%s = %.3f\n", m.split.c_str(), m.name.c_str(), m.value);
    EXPECT_GT(find(metrics, "macro_auroc", "test")->value, 0.7);
}

}  // namespace

namespace {

// The covariate-adjusted predictor: a covariate that carries class B (with 20 % missing values)
// lifts B's AUROC from chance (an encoder of pure noise) to near 1, with or without the ECG.
TEST(LinearProbe, CovariatesJoinOrReplaceTheEmbedding) {
    NoiseEncoder encoder;
    const auto info = toy_info();
    auto with_hint = [](ecgbench::EcgSplit s) {
        at::Tensor hint = s.labels.select(1, 1) * 2 + 0.3 * at::randn({s.size()});
        hint.masked_fill_(at::rand({s.size()}) < 0.2, std::nan(""));
        s.covariates["hint"] = hint;
        return s;
    };
    const auto train = with_hint(toy_split(400, 1)), val = with_hint(toy_split(200, 2)), test = with_hint(toy_split(300, 3));
    const auto ecg_only = run_probe(encoder, info, train, val, test);
    const auto adjusted = run_probe(encoder, info, train, val, test, nullptr, {{"covariates", std::vector<std::string>{"hint"}}});
    const auto alone = run_probe(encoder, info, train, val, test, nullptr,
                                 {{"covariates", std::vector<std::string>{"hint"}}, {"use_ecg", false}});
    EXPECT_LT(find(ecg_only, "auroc/B", "test")->value, 0.65);
    EXPECT_GT(find(adjusted, "auroc/B", "test")->value, 0.85);
    EXPECT_GT(find(alone, "auroc/B", "test")->value, 0.85);
    EXPECT_THROW(run_probe(encoder, info, train, val, test, nullptr, {{"covariates", std::vector<std::string>{"age"}}}),
                 std::invalid_argument);
    EXPECT_THROW(make_probe({{"use_ecg", false}}), std::invalid_argument);

    // covariates_at_test = "mean": fitted with the covariate, predicting with it at its training
    // mean, so it no longer scores: B falls back to what the (noise) ECG gives, chance.
    const auto held = run_probe(encoder, info, train, val, test, nullptr,
                                {{"covariates", std::vector<std::string>{"hint"}}, {"covariates_at_test", std::string("mean")}});
    EXPECT_LT(find(held, "auroc/B", "test")->value, 0.65);
    EXPECT_THROW(make_probe({{"covariates_at_test", std::string("mean")}}), std::invalid_argument);  // no covariates
    EXPECT_THROW(make_probe({{"covariates", std::vector<std::string>{"hint"}}, {"use_ecg", false},
                             {"covariates_at_test", std::string("mean")}}),
                 std::invalid_argument);  // nothing left to score
}

}  // namespace

namespace {

// Windows cut from longer records: per-window metrics as before, plus the record-level AUROC of the
// averaged window probabilities, over the source records.
TEST(LinearProbe, WindowsAreAggregatedPerSourceRecord) {
    FlattenEncoder encoder(8);
    const auto info = toy_info();
    const auto train = toy_split(400, 1), val = toy_split(200, 2);
    auto test = toy_split(300, 3);
    test.source_records = at::arange(300, at::kLong).div(3, "floor");  // 3 consecutive windows per record
    // Each record's windows share its first window's labels (as a window step gives them).
    test.labels = test.labels.index_select(0, test.source_records * 3);
    const auto metrics = run_probe(encoder, info, train, val, test);
    ASSERT_NE(find(metrics, "record_count", "test"), nullptr);
    EXPECT_EQ(find(metrics, "record_count", "test")->value, 100);
    ASSERT_NE(find(metrics, "record_macro_auroc", "test"), nullptr);
    EXPECT_GT(find(metrics, "record_macro_auroc", "test")->value, 0.5);
    // Without windows there is nothing to aggregate, and nothing is reported.
    EXPECT_EQ(find(run_probe(encoder, info, train, val, toy_split(300, 3)), "record_count", "test"), nullptr);
}

// Classes named by the CinC 2021 SNOMED CT codes (sinus rhythm, AF, flutter) get the challenge score;
// `bootstrap = "stratified"` changes the interval, not the estimate.
TEST(LinearProbe, ChallengeScoreAndStratifiedBootstrap) {
    FlattenEncoder encoder(8);
    auto info = toy_info();
    info.classes = {"426783006", "164889003", "164890007"};
    const auto train = toy_split(600, 1), val = toy_split(200, 2), test = toy_split(300, 3);
    const auto plain = run_probe(encoder, info, train, val, test);
    const Metric* score = find(plain, "challenge_score", "test");
    ASSERT_NE(score, nullptr);
    EXPECT_GT(score->value, 0.8);  // both learnable classes are separable
    EXPECT_LE(score->value, 1.0);
    const auto stratified = run_probe(encoder, info, train, val, test, nullptr, {{"bootstrap", std::string("stratified")}});
    const Metric* a = find(plain, "macro_auroc", "test");
    const Metric* b = find(stratified, "macro_auroc", "test");
    ASSERT_TRUE(a && b && a->ci_low && b->ci_low);
    EXPECT_EQ(b->value, a->value);
    EXPECT_NE(*b->ci_low, *a->ci_low);
    EXPECT_LE(*b->ci_low, b->value);
    EXPECT_GE(*b->ci_high, b->value);
    EXPECT_THROW(make_probe({{"bootstrap", std::string("bca")}}), std::invalid_argument);
}

}  // namespace

namespace {

// One positive per record (beat classes): argmax metrics, checked against the stored logits.
TEST(LinearProbe, MutuallyExclusiveClassesGetArgmaxMetrics) {
    FlattenEncoder encoder(8);
    auto info = toy_info();
    info.classes = {"A", "notA"};
    auto exclusive = [](ecgbench::EcgSplit s) {
        const at::Tensor a = s.labels.select(1, 0);
        s.labels = at::stack({a, 1 - a}, 1);
        return s;
    };
    const auto train = exclusive(toy_split(400, 1)), val = exclusive(toy_split(200, 2)), test = exclusive(toy_split(300, 3));
    // Log-loss selection: ranking ties at AUROC 1 for every λ here, and the largest λ would leave
    // the argmax at the majority class.
    const auto result = run_probe_full(encoder, info, train, val, test, nullptr, {{"select_by", std::string("log_loss")}});
    const auto& m = result.metrics;
    for (const char* name : {"accuracy", "balanced_accuracy", "macro_f1_argmax", "sensitivity/A", "ppv/A", "sensitivity/notA"})
        ASSERT_NE(find(m, name, "test"), nullptr) << name;
    ASSERT_NE(find(m, "log_loss", "val"), nullptr);
    // Recompute accuracy from the logits the probe returned.
    const at::Tensor predicted = result.outputs[0].values.argmax(1);
    const double accuracy = predicted.eq(test.labels.argmax(1)).to(at::kDouble).mean().item<double>();
    EXPECT_NEAR(find(m, "accuracy", "test")->value, accuracy, 1e-12);
    EXPECT_GT(accuracy, 0.95);
    // Multi-label data gets none of them.
    EXPECT_EQ(find(run_probe(encoder, toy_info(), toy_split(400, 1), toy_split(200, 2), toy_split(300, 3)), "accuracy", "test"), nullptr);
}

}  // namespace
