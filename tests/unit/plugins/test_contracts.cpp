// One contract per plugin kind, run over every registered plugin of that kind, so a new plugin is
// checked the moment it is built:
//   dataset: stream() equals load(), patient-disjoint splits, the declared leads, samples,
//            covariates and texts are what the splits carry;
//   encoder: pooled shape for any lead count and odd lengths, tokens as declared, a host-made copy
//            gives identical embeddings;
//   ssl:     setup + loss finite on a tiny batch, training through the shared engine lowers it,
//            the checkpoint round-trips the method's state;
//   task:    runs on a toy split with a fixed encoder (and a toy text tower for tasks needing one)
//            and returns per-record outputs covering every test record.
#include "ecgbench/text.hpp"
#include "ecgbench/train.hpp"
#include "ecgbench/wfdb.hpp"
#include "registry/registry.hpp"
#include "runner/checkpoint.hpp"
#include "unit/plugins/shipped_plugins.hpp"
#include "unit/plugins/stream_check.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

namespace {

namespace fs = std::filesystem;
using ecgbench::PluginKind;
using ecgbench::ParamValue;
using test_support::registry;

std::vector<std::string> plugins_of(PluginKind kind) {
    std::vector<std::string> names;
    for (const auto& p : registry().plugins())
        if (p.manifest().kind == kind) names.push_back(p.manifest().name);
    return names;
}

ecgbench::Params params_for(const std::string& name, PluginKind kind, const std::map<std::string, ParamValue>& given = {}) {
    return ecgbench::validate_params(registry().require(name, kind).manifest().params, given);
}

const fs::path kShared = ECGBENCH_SHARED_DATA;

/// Small instances of each dataset plugin on data every checkout has (synthetic) or on the shared
/// sample records (skipped when absent). A dataset plugin missing here fails the contract test.
struct DatasetCase {
    fs::path needs;  ///< "" = always available
    std::map<std::string, ParamValue> params;
};
std::map<std::string, DatasetCase> dataset_cases() {
    return {
        {"synthetic", {"", {{"records", std::int64_t{60}}, {"duration_s", 2.5}, {"records_per_subject", std::int64_t{2}}}}},
        {"ptbxl", {kShared / "ptbxl" / "ptbxl_database.csv", {{"path", (kShared / "ptbxl").string()}}}},
        {"physionet2021", {kShared / "torch_ecg" / "cinc2021", {{"path", (kShared / "torch_ecg" / "cinc2021").string()},
                                                                  {"val_fraction", 0.3}, {"test_fraction", 0.3}}}},
        {"ludb", {kShared / "ludb" / "ludb.csv", {{"path", (kShared / "ludb").string()}}}},
        {"mitbih", {kShared / "wfdb-python" / "sample-data" / "100.hea", {{"path", (kShared / "wfdb-python" / "sample-data").string()}}}},
        {"af_holter", {kShared / "torch_ecg" / "cpsc2021", {{"path", (kShared / "torch_ecg" / "cpsc2021").string()},
                                                            {"subject_separator", std::string("_")}}}},
        {"wfdb_folder", {kShared / "ludb" / "data" / "1.hea", {{"path", (kShared / "ludb" / "data").string()},
                                                               {"sampling_rate", 500.0}, {"duration_s", 10.0}}}},
        // No MIMIC-IV-ECG sample is shared; its own tests build a layout.
        {"mimic_iv_ecg", {kShared / "mimic-iv-ecg" / "record_list.csv", {}}},
    };
}

TEST(DatasetContract, EveryDatasetPlugin) {
    const auto cases = dataset_cases();
    for (const auto& name : plugins_of(PluginKind::Dataset)) {
        SCOPED_TRACE("dataset plugin " + name);
        const auto found = cases.find(name);
        ASSERT_NE(found, cases.end()) << "add a contract case for dataset plugin '" << name << "' to test_contracts.cpp";
        if (!found->second.needs.empty() && !fs::exists(found->second.needs)) {
            std::cout << "(dataset contract of '" << name << "': " << found->second.needs << " absent: not checked here)\n";
            continue;
        }
        auto ds = registry().make_dataset(name, params_for(name, PluginKind::Dataset, found->second.params));
        const ecgbench::DatasetInfo info = ds->info();
        std::set<std::int64_t> subjects_seen;
        for (auto split : {ecgbench::Split::Train, ecgbench::Split::Val, ecgbench::Split::Test}) {
            SCOPED_TRACE(ecgbench::to_string(split));
            const auto data = ds->load(split, info.leads);
            if (data.size() == 0) continue;
            test_support::expect_stream_matches_load(*ds, split, info.leads, 7);
            ASSERT_EQ(data.signals.sizes(), (std::vector<std::int64_t>{data.size(), static_cast<std::int64_t>(info.leads.size()), info.samples}));
            EXPECT_EQ(data.labels.size(1), static_cast<std::int64_t>(info.classes.size()));
            std::set<std::string> covariates;
            for (const auto& [covariate, values] : data.covariates) covariates.insert(covariate);
            EXPECT_EQ(covariates, std::set<std::string>(info.covariates.begin(), info.covariates.end()))
                << "DatasetInfo::covariates must name exactly the split's covariates";
            EXPECT_EQ(!data.texts.empty(), info.has_texts) << "DatasetInfo::has_texts must say whether splits carry texts";
            const at::Tensor subjects = std::get<0>(at::_unique(data.subjects));
            for (std::int64_t i = 0; i < subjects.numel(); ++i) {
                const auto s = subjects[i].item<std::int64_t>();
                EXPECT_TRUE(subjects_seen.insert(s).second) << "subject " << s << " is in two splits";
            }
        }
    }
}

std::vector<std::string> twelve() { return {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"}; }

ecgbench::EncoderPtr make_encoder(const std::string& name, std::int64_t leads, std::int64_t samples) {
    const auto names = twelve();
    ecgbench::EncoderInput in{leads, samples, 100.0, std::vector<std::string>(names.begin(), names.begin() + leads)};
    std::map<std::string, ParamValue> small;
    if (name == "resnet1d") small["size"] = std::string("XS");
    if (name == "xresnet1d") small["depth"] = std::string("18");
    if (name == "vit1d") small = {{"size", std::string("XS")}, {"patch_size", std::int64_t{25}}};
    return registry().make_encoder(name, params_for(name, PluginKind::Encoder, small), in);
}

TEST(EncoderContract, EveryEncoderPlugin) {
    for (const auto& name : plugins_of(PluginKind::Encoder)) {
        SCOPED_TRACE("encoder plugin " + name);
        const bool tokens = [&] {
            const auto& provides = registry().require(name, PluginKind::Encoder).manifest().provides;
            return std::find(provides.begin(), provides.end(), "tokens") != provides.end();
        }();
        for (std::int64_t leads : {1, 3, 12}) {
            for (std::int64_t samples : {250, 251}) {
                torch::manual_seed(0);
                auto encoder = make_encoder(name, leads, samples);
                encoder->eval();
                torch::NoGradGuard no_grad;
                const at::Tensor x = at::randn({3, leads, samples});
                at::Tensor present = at::ones({3, leads}, at::kBool);
                // A record keeps one lead at least: a token encoder has nothing to encode otherwise.
                if (leads > 1) present[0][0] = false;
                const auto out = encoder->encode({x * present.unsqueeze(-1), present, {}});
                ASSERT_EQ(out.pooled.sizes(), (std::vector<std::int64_t>{3, encoder->embedding_dim()})) << leads << "x" << samples;
                EXPECT_TRUE(out.pooled.isfinite().all().item<bool>());
                EXPECT_EQ(out.tokens.defined(), tokens) << "tokens returned iff the manifest provides \"tokens\"";
                if (tokens) EXPECT_EQ(out.tokens.size(1), encoder->token_count());
                // The host's generic copy: a fresh instance + copy_module_state gives the same embeddings.
                auto copy = make_encoder(name, leads, samples);
                ecgbench::copy_module_state(*encoder, *copy);
                EXPECT_TRUE(at::allclose(copy->forward(x), encoder->forward(x)));
            }
        }
    }
}

ecgbench::EcgSplit tiny_split(std::int64_t n, std::int64_t leads, std::int64_t samples, std::int64_t classes) {
    torch::manual_seed(11);
    ecgbench::EcgSplit s;
    const at::Tensor t = at::arange(samples, at::kFloat).div(100.0).view({1, 1, samples});
    const at::Tensor f = at::randint(1, 4, {n, 1, 1}).to(at::kFloat);
    s.signals = (t * f * 6.283).sin() + 0.05 * at::randn({n, leads, samples});
    s.lead_present = at::ones({n, leads}, at::kBool);
    s.labels = at::cat({(f.view({n, 1}) > 2).to(at::kFloat), (f.view({n, 1}) < 2).to(at::kFloat)}, 1).narrow(1, 0, classes);
    s.subjects = at::arange(n, at::kLong);
    for (std::int64_t i = 0; i < n; ++i) {
        s.record_ids.push_back("r" + std::to_string(i));
        s.texts.push_back(i % 2 ? "sinus rhythm" : "atrial fibrillation");
    }
    s.covariates["age"] = at::full({n}, 60.0f);
    s.covariates["cycles_per_s"] = f.view({n});  // a continuous target that the signal determines
    return s;
}

TEST(SslContract, EveryMethodPlugin) {
    const std::int64_t leads = 3, samples = 250;
    const auto data = tiny_split(32, leads, samples, 2);
    for (const auto& name : plugins_of(PluginKind::Ssl)) {
        SCOPED_TRACE("ssl plugin " + name);
        torch::manual_seed(0);
        // Masked-token methods need an encoder whose tokens read lead patches.
        const auto& needs = registry().require(name, PluginKind::Ssl).manifest().needs;
        const std::string encoder_name =
            std::find(needs.begin(), needs.end(), "token_spans") != needs.end() ? "vit1d" : "resnet1d";
        auto encoder = make_encoder(encoder_name, leads, samples);
        auto method = registry().make_ssl(name, params_for(name, PluginKind::Ssl));
        ecgbench::PretrainContext context;
        context.input = {leads, samples, 100.0, {"I", "II", "III"}};
        context.embedding_dim = encoder->embedding_dim();
        context.classes = {"fast", "slow"};
        context.covariates = {"age"};
        context.has_texts = true;
        context.batch_size = 16;
        context.total_steps = 24;
        context.data = &data;
        context.copy_encoder = [&] {
            auto copy = make_encoder(encoder_name, leads, samples);
            ecgbench::copy_module_state(*encoder, *copy);
            return copy;
        };
        method->setup(*encoder, context);
        if (!method->trains()) continue;
        ecgbench::TrainOptions options;
        options.epochs = 12;
        options.batch_size = 16;
        options.learning_rate = 3e-3;
        std::vector<double> losses;
        ecgbench::TrainHooks hooks;
        hooks.on_progress = [&](const ecgbench::TrainProgress& p) { losses.push_back(p.loss); };
        hooks.on_step_end = [&](const ecgbench::StepState& s) { method->on_step_end(*encoder, s); };
        ecgbench::train({encoder.get(), method.get()}, data, [&](const ecgbench::Batch& b) { return method->loss(*encoder, b); }, options,
                        hooks);
        ASSERT_EQ(losses.size(), 24u);
        for (double l : losses) ASSERT_TRUE(std::isfinite(l));
        const double first = (losses[0] + losses[1] + losses[2] + losses[3]) / 4, last = (losses[20] + losses[21] + losses[22] + losses[23]) / 4;
        EXPECT_LT(last, first) << "the loss did not decrease on a tiny fixed split";

        // Checkpoint round trip: a fresh method set up the same way reads back every tensor.
        const fs::path path = fs::temp_directory_path() / ("ecgbench_contract_" + name + ".pt");
        ecgbench::save_checkpoint(*encoder, method.get(), path.string());
        auto again = registry().make_ssl(name, params_for(name, PluginKind::Ssl));
        again->setup(*encoder, context);
        ASSERT_TRUE(ecgbench::load_method(*again, path.string()) || (method->parameters().empty() && method->buffers().empty()));
        const auto saved = method->named_parameters(), loaded = again->named_parameters();
        ASSERT_EQ(saved.size(), loaded.size());
        for (const auto& item : saved) EXPECT_TRUE(at::equal(item.value(), loaded[item.key()])) << item.key();
        fs::remove(path);
    }
}

/// A fixed random encoder with tokens (one per 25-sample step over the 3 leads), so that tasks
/// needing "tokens" (attention_probe) run too.
class FixedEncoder final : public ecgbench::Encoder {
public:
    FixedEncoder()
        : projection_(register_parameter("projection", at::randn({3 * 250, 16}))),
          token_projection_(register_parameter("token_projection", at::randn({3 * 25, 16}))) {}
    ecgbench::EncoderOutput encode(const ecgbench::EncoderBatch& b) override {
        const at::Tensor steps = b.signals.reshape({b.signals.size(0), 3, 10, 25}).permute({0, 2, 1, 3}).flatten(2);  // [B, 10, 75]
        return {b.signals.flatten(1).mm(projection_).tanh(), steps.matmul(token_projection_).tanh()};
    }
    std::int64_t embedding_dim() const override { return 16; }
    std::int64_t token_count() const override { return 10; }

private:
    at::Tensor projection_;
    at::Tensor token_projection_;
};

/// A text tower for tasks that need one ("text_tower"): texts embed by their length, ECGs through the
/// encoder, both 16-d, so zero-shot scores are defined and deterministic.
class ToyTextTower final : public ecgbench::SslMethod, public ecgbench::TextTower {
public:
    void setup(ecgbench::Encoder&, const ecgbench::PretrainContext&) override {}
    ecgbench::Loss loss(ecgbench::Encoder&, const ecgbench::Batch&) override { return at::zeros({}); }
    at::Tensor embed_texts(const std::vector<std::string>& texts) override {
        std::vector<at::Tensor> rows;
        for (const auto& t : texts) rows.push_back(at::sin(at::arange(16, at::kFloat) * static_cast<double>(t.size())));
        return at::stack(rows);
    }
    at::Tensor embed_signals(ecgbench::Encoder& encoder, const ecgbench::EncoderBatch& batch) override {
        return encoder.encode(batch).pooled;
    }
    std::string text_identity() const override { return "toy"; }
};

/// A 2-channel WFDB record of white noise at 100 Hz, 60 s (noise_detection's noise source).
std::string white_noise_record() {
    const fs::path dir = fs::temp_directory_path() / "ecgbench_contract_noise";
    fs::create_directories(dir);
    std::vector<std::vector<std::int32_t>> digital(2, std::vector<std::int32_t>(6000));
    std::mt19937 engine(5);
    std::normal_distribution<double> normal(0, 100);
    for (auto& channel : digital)
        for (auto& v : channel) v = static_cast<std::int32_t>(std::lround(normal(engine)));
    ecgbench::wfdb::Header h;
    h.name = "white";
    h.fs = 100;
    h.fs_given = true;
    h.nsig = 2;
    h.nsamp = 6000;
    for (const char* name : {"noise1", "noise2"}) {
        ecgbench::wfdb::SignalInfo s;
        s.file_name = "white.dat";
        s.format = 16;
        s.gain = 200;
        s.gain_given = true;
        s.description = name;
        h.signals.push_back(s);
    }
    ecgbench::wfdb::write_record(dir / "white", h, digital, 16);
    return (dir / "white").string();
}

/// Parameters a task plugin needs on the toy split (all others run with their defaults).
std::map<std::string, ParamValue> task_params(const std::string& name) {
    if (name == "regression_probe") return {{"targets", std::vector<std::string>{"cycles_per_s"}}};
    if (name == "beat_classification") return {{"rr_features", false}};  // the toy split has no RR covariates
    if (name == "noise_detection") return {{"noise_records", std::vector<std::string>{white_noise_record()}}};
    return {};
}

/// Tasks whose classes are mutually exclusive (one positive per record) get the toy labels with a
/// third class for the records that are neither fast nor slow.
bool single_label_task(const std::string& name) { return name == "beat_classification"; }
ecgbench::EcgSplit one_hot(ecgbench::EcgSplit s) {
    s.labels = at::cat({s.labels, 1 - s.labels.sum(1, true)}, 1);
    return s;
}

TEST(TaskContract, EveryTaskPluginReturnsOutputsForEveryTestRecord) {
    const auto train = tiny_split(60, 3, 250, 2), val = tiny_split(30, 3, 250, 2), test = tiny_split(40, 3, 250, 2);
    ecgbench::DatasetInfo info;
    info.name = "toy";
    info.classes = {"fast", "slow"};
    info.leads = {"I", "II", "III"};
    info.samples = 250;
    info.sampling_rate_hz = 100;
    info.class_descriptions = {{"fast", "fast rhythm"}, {"slow", "slow"}};
    auto tower = [] { return std::static_pointer_cast<ecgbench::SslMethod>(std::make_shared<ToyTextTower>()); };
    ecgbench::DatasetInfo single_label_info = info;
    single_label_info.classes.push_back("other");
    const auto train1 = one_hot(train), val1 = one_hot(val), test1 = one_hot(test);
    for (const auto& name : plugins_of(PluginKind::Task)) {
        SCOPED_TRACE("task plugin " + name);
        torch::manual_seed(0);
        auto make = [] { return std::static_pointer_cast<ecgbench::Encoder>(std::make_shared<FixedEncoder>()); };
        const bool single = single_label_task(name);
        ecgbench::EvalContext context{make(), make, tower, torch::kCPU, single ? single_label_info : info, single ? train1 : train,
                                      single ? val1 : val, single ? test1 : test, 1, {}};
        const auto result = registry().make_task(name, params_for(name, PluginKind::Task, task_params(name)))->evaluate(context);
        EXPECT_FALSE(result.metrics.empty());
        bool covered = false;
        for (const auto& out : result.outputs) {
            if (out.split != "test") continue;
            std::set<std::string> ids(out.record_ids.begin(), out.record_ids.end());
            covered = ids == std::set<std::string>(test.record_ids.begin(), test.record_ids.end());
            EXPECT_EQ(out.values.size(0), static_cast<std::int64_t>(out.record_ids.size()));
            EXPECT_EQ(out.values.size(1), static_cast<std::int64_t>(out.columns.size()));
        }
        EXPECT_TRUE(covered) << "no per-record test outputs covering every test record";
    }
}

}  // namespace
