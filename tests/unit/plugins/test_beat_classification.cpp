// The `beat_classification` task on toy beats whose class the RR features determine.
#include "ecgbench/dataset.hpp"
#include "ecgbench/encoder.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/task.hpp"
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::ParamValue;

class FlattenEncoder final : public ecgbench::Encoder {
public:
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override { return {b.signals.flatten(1), {}}; }
    std::int64_t embedding_dim() const override { return 8; }
};

/// Beats of 4 subjects: 90 % N (RR 800 ms both sides), 10 % S (premature: 500 ms before, 1100 after);
/// the signals are noise, so only the RR features tell the classes apart. Classes N, S, V.
ecgbench::EcgSplit toy_beats(std::int64_t n, std::uint64_t seed) {
    at::manual_seed(seed);
    ecgbench::EcgSplit s;
    s.signals = at::randn({n, 1, 8});
    s.lead_present = at::ones({n, 1}, at::kBool);
    const at::Tensor premature = at::arange(n) % 10 == 0;
    s.labels = at::stack({premature.logical_not(), premature, at::zeros({n}, at::kBool)}, 1).to(at::kFloat);
    s.subjects = at::arange(n, at::kLong) % 4;
    s.covariates["rr_prev_ms"] = at::where(premature, 500.0, 800.0).to(at::kFloat) + 20 * at::randn({n});
    s.covariates["rr_next_ms"] = at::where(premature, 1100.0, 800.0).to(at::kFloat) + 20 * at::randn({n});
    s.covariates["rr_prev_ms"][0] = std::nanf("");  // a record's first beat
    for (std::int64_t i = 0; i < n; ++i) s.record_ids.push_back("b" + std::to_string(i));
    return s;
}

ecgbench::TaskResult run(const std::map<std::string, ParamValue>& given, const ecgbench::EcgSplit& train, const ecgbench::EcgSplit& test) {
    const auto& plugin = test_support::registry().require("beat_classification", ecgbench::PluginKind::Task);
    auto task = test_support::registry().make_task("beat_classification", ecgbench::validate_params(plugin.manifest().params, given));
    ecgbench::DatasetInfo info;
    info.name = "toy";
    info.leads = {"II"};
    info.classes = {"N", "S", "V"};
    const auto val = toy_beats(100, 2);
    FlattenEncoder encoder;
    const ecgbench::EncoderPtr borrowed(std::shared_ptr<ecgbench::Encoder>{}, &encoder);
    ecgbench::EvalContext ctx{borrowed, {}, {}, torch::kCPU, info, train, val, test, 7, {}};
    return task->evaluate(ctx);
}

const ecgbench::Metric* find(const ecgbench::TaskResult& r, const std::string& name) {
    for (const auto& m : r.metrics)
        if (m.name == name && m.split == "test") return &m;
    return nullptr;
}

TEST(BeatClassification, RrFeaturesFindPrematureBeatsAndAbsentClassesAreLeftOut) {
    const auto train = toy_beats(400, 1), test = toy_beats(200, 3);
    const auto result = run({{"bootstrap_resamples", std::int64_t{0}}}, train, test);
    ASSERT_NE(find(result, "sensitivity/S"), nullptr);
    EXPECT_GT(find(result, "sensitivity/S")->value, 0.95);
    EXPECT_GT(find(result, "ppv/S")->value, 0.9);
    EXPECT_GT(find(result, "macro_f1_argmax")->value, 0.95);
    // V has no beat anywhere: no rate reported for it (never 0), counted as undefined.
    EXPECT_EQ(find(result, "sensitivity/V"), nullptr);
    EXPECT_EQ(find(result, "f1/V"), nullptr);
    EXPECT_EQ(find(result, "undefined_classes")->value, 1);
    EXPECT_EQ(find(result, "undefined_classes")->direction, ecgbench::Direction::LowerIsBetter);
    // Per-beat log-probabilities and labels, one row per test beat.
    ASSERT_EQ(result.outputs.size(), 2u);
    EXPECT_EQ(result.outputs[0].record_ids, test.record_ids);
    EXPECT_LT((result.outputs[0].values.exp().sum(1) - 1).abs().max().item<float>(), 1e-4);
    // Without the RR features the noise signals carry nothing: S is mostly missed.
    const auto ecg_only = run({{"bootstrap_resamples", std::int64_t{0}}, {"rr_features", false}}, train, test);
    EXPECT_LT(find(ecg_only, "macro_f1_argmax")->value, 0.8);
}

TEST(BeatClassification, BadInputNamesTheField) {
    auto no_rr = toy_beats(100, 1);
    no_rr.covariates.clear();
    try {
        run({}, no_rr, toy_beats(50, 3));
        ADD_FAILURE() << "beats without RR covariates were accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("rr_features"), std::string::npos) << e.what();
    }
    auto two_classes = toy_beats(100, 1);
    two_classes.labels.select(1, 2).fill_(1.0f);  // every beat also V
    EXPECT_THROW(run({}, two_classes, toy_beats(50, 3)), std::invalid_argument);
    const auto& plugin = test_support::registry().require("beat_classification", ecgbench::PluginKind::Task);
    try {
        test_support::registry().make_task("beat_classification", ecgbench::validate_params(plugin.manifest().params,
                                                                                          {{"use_ecg", false}, {"rr_features", false}}));
        ADD_FAILURE() << "no features accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("use_ecg"), std::string::npos) << e.what();
    }
}

}  // namespace
