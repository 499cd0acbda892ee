// Matrix expansion: cell counts and order, canonical configs and what does (and does not) change
// a cell's hash. Experiments are parsed from TOML and validated against hand-built manifests.
#include "config/experiment.hpp"
#include "config/matrix.hpp"
#include "ecgbench/sha256.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecgbench {
namespace {

std::vector<PluginManifest> manifests() {
    std::vector<PluginManifest> all;
    all.push_back({"synthetic", PluginKind::Dataset, "1.2", "synthetic ECGs",
                   {{"records", ParamType::Int, std::int64_t{1000}, "records", 10.0, std::nullopt, {}},
                    {"noise", ParamType::Float, 0.0, "noise std", 0.0, 1.0, {}},
                    {"label", ParamType::String, std::string{}, "a label"},
                    {"tags", ParamType::StringList, std::vector<std::string>{}, "tags"}}});
    all.push_back({"resnet1d", PluginKind::Encoder, "0.3", "1-D ResNet",
                   {{"size", ParamType::String, std::string("S"), "size", std::nullopt, std::nullopt, {"XS", "S", "M"}}}});
    all.push_back({"transformer", PluginKind::Encoder, "1.0", "transformer",
                   {{"depth", ParamType::Int, std::int64_t{4}, "layers", 1.0}}});
    all.push_back({"simclr", PluginKind::Ssl, "1.0", "SimCLR",
                   {{"temperature", ParamType::Float, 0.5, "NT-Xent temperature", 0.01, 10.0}}});
    all.push_back({"byol", PluginKind::Ssl, "2.0", "BYOL", {{"momentum", ParamType::Float, 0.99, "EMA", 0.0, 1.0}}});
    all.push_back({"vicreg", PluginKind::Ssl, "1.0", "VICReg", {}});
    all.push_back({"clip", PluginKind::Ssl, "1.0", "CLIP with a user-supplied text model",
                   {param::file("text_model", "TorchScript text encoder"), param::integer("width", 8, "width")}});
    all.push_back({"linear_probe", PluginKind::Task, "1.0", "linear probe",
                   {{"epochs", ParamType::Int, std::int64_t{10}, "epochs", 1.0},
                    param::choice("covariates_at_test", "observed", {"observed", "mean"}, "added after cells were stored")}});
    all.push_back({"finetune", PluginKind::Task, "1.1", "fine-tuning", {}});
    all.push_back({"heartlang", PluginKind::Ssl, "1.0.0", "HeartLang",
                   {param::integer("vocabulary_size", 256, "words"),
                    param::choice("vocabulary", "kmeans", {"kmeans", "vq"}, "added after cells were stored"),
                    param::integer("vq_steps", 3000, "added after cells were stored")}});
    return all;
}

const std::string kSmall = R"([experiment]
name = "small"

[[dataset]]
name = "d"
plugin = "synthetic"

[[encoder]]
plugin = "resnet1d"

[[ssl]]
plugin = "simclr"

[pretrain]
datasets = ["d"]

[[evaluation]]
task = "linear_probe"
datasets = ["d"]
)";

// 2 datasets x 2 encoders x 3 ssl x 2 seeds; evaluations: 2 datasets x 3 fractions + 1 x 1.
// [pretrain] lists "b" before "a" to show that its order (not declaration order) drives cells.
const std::string kBig = R"([experiment]
name = "big"
description = "the full matrix"

[[dataset]]
name = "a"
plugin = "synthetic"
params = { records = 100 }

[[dataset]]
name = "b"
plugin = "synthetic"
params = { records = 200 }

[[dataset]]
name = "held"
plugin = "synthetic"
params = { records = 50, label = "held-out" }

[[encoder]]
plugin = "resnet1d"

[[encoder]]
plugin = "transformer"

[[ssl]]
plugin = "simclr"

[[ssl]]
plugin = "byol"

[[ssl]]
plugin = "vicreg"

[pretrain]
datasets = ["b", "a"]
seeds = [7, 3]

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["held", "a"]
label_fractions = [1.0, 0.1, 0.01]

[[evaluation]]
task = "finetune"
datasets = ["held"]
)";

DatasetIdentity identity(const std::string& fingerprint) { return {fingerprint, "v1", 500.0, {"I", "II"}, Json::array(), ""}; }

std::map<std::string, DatasetIdentity> identities_for(const Experiment& experiment) {
    std::map<std::string, DatasetIdentity> out;
    for (const DatasetDecl& decl : experiment.datasets) out[decl.name] = identity("fp-" + decl.name);
    return out;
}

Experiment load(const std::string& text, const std::vector<PluginManifest>& available = manifests()) {
    Experiment experiment = parse_experiment_text(text, "exp.toml");
    validate_experiment(experiment, available);
    return experiment;
}

Plan plan_of(const std::string& text) {
    const Experiment experiment = load(text);
    return expand(experiment, identities_for(experiment));
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
    const std::size_t pos = text.find(from);
    if (pos == std::string::npos) throw std::logic_error("test bug: '" + from + "' not in text");
    return text.replace(pos, from.size(), to);
}

TEST(Expand, PretrainCellCountAndOrder) {
    const Experiment experiment = load(kBig);
    const Plan plan = expand(experiment, identities_for(experiment));
    ASSERT_EQ(plan.pretrain.size(), 24u);
    // Nested loops: datasets (as listed in [pretrain]) outermost, then encoders, ssl, seeds.
    const std::size_t dataset_order[] = {1, 0};  // "b" is declared second
    const std::int64_t seeds[] = {7, 3};
    for (std::size_t i = 0; i < plan.pretrain.size(); ++i) {
        const PretrainCell& cell = plan.pretrain[i];
        EXPECT_EQ(cell.dataset, dataset_order[i / 12]) << i;
        EXPECT_EQ(cell.encoder, (i / 6) % 2) << i;
        EXPECT_EQ(cell.ssl, (i / 2) % 3) << i;
        EXPECT_EQ(cell.seed, seeds[i % 2]) << i;
        EXPECT_EQ(cell.hash, sha256_hex(cell.config)) << i;
        EXPECT_EQ(cell.hash.size(), 64u);
    }
    std::set<std::string> distinct;
    for (const PretrainCell& cell : plan.pretrain) distinct.insert(cell.hash);
    EXPECT_EQ(distinct.size(), 24u);
}

// An [[ssl]] entry's `encoders` restricts its pairings: byol only with the transformer.
TEST(Expand, SslEncodersListRestrictsPairings) {
    const std::string text = replace(kBig, "plugin = \"byol\"", "plugin = \"byol\"\nencoders = [\"transformer\"]");
    const Experiment experiment = load(text);
    ASSERT_EQ(experiment.ssl_methods[1].encoders, (std::vector<std::string>{"transformer"}));
    const Plan plan = expand(experiment, identities_for(experiment));
    ASSERT_EQ(plan.pretrain.size(), 20u);  // 24 minus byol × resnet1d × 2 datasets × 2 seeds
    for (const PretrainCell& cell : plan.pretrain) EXPECT_FALSE(cell.ssl == 1 && cell.encoder == 0);
    // Unrestricted pairs hash as before.
    const Plan full = plan_of(kBig);
    EXPECT_EQ(plan.pretrain[0].hash, full.pretrain[0].hash);
    // An unknown encoder is an error naming it and its location; `encoders` is not an [[encoder]] key.
    try {
        load(replace(kBig, "plugin = \"byol\"", "plugin = \"byol\"\nencoders = [\"transformr\"]"));
        ADD_FAILURE() << "unknown encoder accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("unknown encoder 'transformr'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("transformer"), std::string::npos) << e.what();
    }
    EXPECT_THROW(load(replace(kBig, "plugin = \"transformer\"", "plugin = \"transformer\"\nencoders = [\"resnet1d\"]")), ConfigError);
}

TEST(Expand, EvaluationCellCountAndOrder) {
    const Plan plan = plan_of(kBig);
    // Per pretraining cell: probe on 2 datasets x 3 fractions, then finetune on 1 x 1.
    ASSERT_EQ(plan.evaluations.size(), 24u * 7u);
    struct Expected {
        std::size_t evaluation, dataset;
        double fraction;
    };
    const Expected per_cell[] = {{0, 2, 1.0}, {0, 2, 0.1}, {0, 2, 0.01}, {0, 0, 1.0},
                                 {0, 0, 0.1}, {0, 0, 0.01}, {1, 2, 1.0}};
    std::set<std::string> distinct;
    for (std::size_t i = 0; i < plan.evaluations.size(); ++i) {
        const EvalCell& cell = plan.evaluations[i];
        const Expected& want = per_cell[i % 7];
        EXPECT_EQ(cell.pretrain, i / 7) << i;
        EXPECT_EQ(cell.pretrain_hash, plan.pretrain[i / 7].hash) << i;
        EXPECT_EQ(cell.seed, plan.pretrain[i / 7].seed) << i;
        EXPECT_EQ(cell.evaluation, want.evaluation) << i;
        EXPECT_EQ(cell.dataset, want.dataset) << i;
        EXPECT_EQ(cell.label_fraction, want.fraction) << i;
        EXPECT_EQ(cell.hash, sha256_hex(cell.config)) << i;
        distinct.insert(cell.hash);
    }
    EXPECT_EQ(distinct.size(), plan.evaluations.size());
}

TEST(Expand, NoEvaluationsGivesNoEvalCells) {
    const std::string text = kSmall.substr(0, kSmall.find("[[evaluation]]"));
    const Plan plan = plan_of(text);
    EXPECT_EQ(plan.pretrain.size(), 1u);
    EXPECT_TRUE(plan.evaluations.empty());
}

TEST(Expand, CanonicalPretrainConfigIsSortedCompactJson) {
    const Plan plan = plan_of(kSmall);
    ASSERT_EQ(plan.pretrain.size(), 1u);
    EXPECT_EQ(plan.pretrain[0].config,
              R"({"budget":{"batch_size":64,"epochs":10,"learning_rate":0.001,"max_steps":0,"weight_decay":1e-04},)"
              R"("dataset":{"data_version":"v1","fingerprint":"fp-d","leads":["I","II"],)"
              R"("params":{"label":"","noise":0,"records":1000,"tags":[]},"plugin":"synthetic","sampling_rate_hz":500,)"
              R"("version":"1.2"},"encoder":{"params":{"size":"S"},"plugin":"resnet1d","version":"0.3"},)"
              R"("kind":"pretrain","seed":0,"ssl":{"params":{"temperature":0.5},"plugin":"simclr","version":"1.0"}})");
    // Pinned: the cell's identity as stores hold it (sha256 of the text above).
    EXPECT_EQ(plan.pretrain[0].hash, "904f5fe16ef10ec388a45b68ec2be6c9bfa4c03539507377d45cf65f59b85c43");
}

TEST(Expand, CanonicalEvalConfig) {
    const Plan plan = plan_of(kSmall);
    ASSERT_EQ(plan.evaluations.size(), 1u);
    EXPECT_EQ(plan.evaluations[0].config,
              R"({"dataset":{"data_version":"v1","fingerprint":"fp-d","leads":["I","II"],)"
              R"("params":{"label":"","noise":0,"records":1000,"tags":[]},"plugin":"synthetic","sampling_rate_hz":500,)"
              R"("version":"1.2"},"kind":"eval","label_fraction":1,"pretrain":")" +
                  plan.pretrain[0].hash +
                  R"(","seed":0,"task":{"params":{"epochs":10},"plugin":"linear_probe","version":"1.0"}})");
}

TEST(Expand, NumbersRoundTripAndStringsAreEscaped) {
    const std::string text = replace(replace(kSmall, "datasets = [\"d\"]", "datasets = [\"d\"]\nlearning_rate = 0.1\n"
                                                                           "weight_decay = 1e-5"),
                                     "plugin = \"synthetic\"",
                                     "plugin = \"synthetic\"\nparams = { label = \"say \\\"hi\\\"\\n\\\\ \\u0001 é\" }");
    const Plan plan = plan_of(text);
    const std::string& config = plan.pretrain[0].config;
    EXPECT_NE(config.find(R"("learning_rate":0.1,)"), std::string::npos) << config;
    EXPECT_NE(config.find(R"("weight_decay":1e-05})"), std::string::npos) << config;
    EXPECT_NE(config.find(R"("label":"say \"hi\"\n\\ \u0001 é")"), std::string::npos) << config;
}

/// Runs one SQLite query with the config bound to ?1 and returns the first row's columns as text.
std::vector<std::string> sqlite_row(const std::string& sql, const std::string& config) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_bind_text(statement, 1, config.c_str(), static_cast<int>(config.size()), SQLITE_TRANSIENT);
    std::vector<std::string> row;
    if (sqlite3_step(statement) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(statement); ++i) {
            const auto* text = sqlite3_column_text(statement, i);
            row.push_back(text ? reinterpret_cast<const char*>(text) : "NULL");
        }
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return row;
}

TEST(Expand, SqliteJsonExtractReadsConfigs) {
    const std::string text = replace(kSmall, "datasets = [\"d\"]\n", "datasets = [\"d\"]\nweight_decay = 1e-5\n");
    const Plan plan = plan_of(text);
    const auto row = sqlite_row("SELECT json_valid(?1), json_extract(?1, '$.budget.weight_decay') = 1e-5, "
                                "json_extract(?1, '$.dataset.leads[1]'), json_extract(?1, '$.ssl.params.temperature'), "
                                "json_extract(?1, '$.kind')",
                                plan.pretrain[0].config);
    EXPECT_EQ(row, (std::vector<std::string>{"1", "1", "II", "0.5", "pretrain"}));
    const auto eval = sqlite_row("SELECT json_valid(?1), json_extract(?1, '$.pretrain'), json_extract(?1, '$.label_fraction')",
                                 plan.evaluations[0].config);
    EXPECT_EQ(eval, (std::vector<std::string>{"1", plan.pretrain[0].hash, "1"}));
}

TEST(Hashes, StableAcrossParses) {
    const Plan first = plan_of(kBig);
    const Plan second = plan_of(kBig);
    ASSERT_EQ(first.pretrain.size(), second.pretrain.size());
    for (std::size_t i = 0; i < first.pretrain.size(); ++i) {
        EXPECT_EQ(first.pretrain[i].config, second.pretrain[i].config);
        EXPECT_EQ(first.pretrain[i].hash, second.pretrain[i].hash);
    }
    for (std::size_t i = 0; i < first.evaluations.size(); ++i) EXPECT_EQ(first.evaluations[i].hash, second.evaluations[i].hash);
}

TEST(Hashes, ChangeWithEverythingThatDeterminesTheResult) {
    const Plan base = plan_of(kSmall);
    const std::string pretrain = base.pretrain[0].hash;
    const std::string eval = base.evaluations[0].hash;

    const std::pair<std::string, std::string> edits[] = {
        {"plugin = \"synthetic\"", "plugin = \"synthetic\"\nparams = { records = 1001 }"},  // dataset param
        {"plugin = \"resnet1d\"", "plugin = \"resnet1d\"\nparams = { size = \"M\" }"},        // encoder param
        {"plugin = \"resnet1d\"", "plugin = \"transformer\""},                                // encoder plugin
        {"plugin = \"simclr\"", "plugin = \"simclr\"\nparams = { temperature = 0.2 }"},       // ssl param
        {"datasets = [\"d\"]\n\n", "datasets = [\"d\"]\nseeds = [1]\n\n"},                    // seed
        {"datasets = [\"d\"]\n\n", "datasets = [\"d\"]\nepochs = 11\n\n"},                    // budget ...
        {"datasets = [\"d\"]\n\n", "datasets = [\"d\"]\nbatch_size = 32\n\n"},
        {"datasets = [\"d\"]\n\n", "datasets = [\"d\"]\nmax_steps = 5\n\n"},
        {"datasets = [\"d\"]\n\n", "datasets = [\"d\"]\nlearning_rate = 0.002\n\n"},
        {"datasets = [\"d\"]\n\n", "datasets = [\"d\"]\nweight_decay = 0\n\n"},
    };
    for (const auto& [from, to] : edits) {
        const Plan changed = plan_of(replace(kSmall, from, to));
        EXPECT_NE(changed.pretrain[0].hash, pretrain) << to;
        // The evaluation depends on the encoder it evaluates, so it changes too.
        EXPECT_NE(changed.evaluations[0].hash, eval) << to;
    }

    const Experiment experiment = load(kSmall);
    const auto identities = identities_for(experiment);
    auto with_identity = [&](auto edit) {
        auto edited = identities;
        edit(edited.at("d"));
        return expand(experiment, edited);
    };
    EXPECT_NE(with_identity([](DatasetIdentity& id) { id.fingerprint = "other"; }).pretrain[0].hash, pretrain);
    EXPECT_NE(with_identity([](DatasetIdentity& id) { id.version = "v2"; }).pretrain[0].hash, pretrain);
    EXPECT_NE(with_identity([](DatasetIdentity& id) { id.sampling_rate_hz = 250; }).pretrain[0].hash, pretrain);
    EXPECT_NE(with_identity([](DatasetIdentity& id) { id.leads = {"I"}; }).pretrain[0].hash, pretrain);
    EXPECT_NE(with_identity([](DatasetIdentity& id) { id.leads = {"II", "I"}; }).pretrain[0].hash, pretrain);

    // Plugin versions: the same file against a newer plugin build.
    for (const std::string plugin : {"synthetic", "resnet1d", "simclr"}) {
        auto available = manifests();
        for (PluginManifest& manifest : available)
            if (manifest.name == plugin) manifest.version += ".1";
        const Experiment bumped = load(kSmall, available);
        EXPECT_NE(expand(bumped, identities).pretrain[0].hash, pretrain) << plugin;
    }
    auto available = manifests();
    for (PluginManifest& manifest : available)
        if (manifest.name == "linear_probe") manifest.version = "1.1";
    const Plan task_bumped = expand(load(kSmall, available), identities);
    EXPECT_EQ(task_bumped.pretrain[0].hash, pretrain);  // the task is not part of pretraining
    EXPECT_NE(task_bumped.evaluations[0].hash, eval);
}

TEST(Hashes, EvalChangesWithItsOwnSettingsOnly) {
    const Plan base = plan_of(kSmall);
    const std::string prefix = kSmall.substr(0, kSmall.find("[[evaluation]]"));
    const std::string variants[] = {
        "[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\nparams = { epochs = 3 }\n",
        "[[evaluation]]\ntask = \"finetune\"\ndatasets = [\"d\"]\n",
        "[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\nlabel_fractions = [0.5]\n",
    };
    for (const std::string& evaluation : variants) {
        const Plan changed = plan_of(prefix + evaluation);
        EXPECT_EQ(changed.pretrain[0].hash, base.pretrain[0].hash) << evaluation;
        EXPECT_NE(changed.evaluations[0].hash, base.evaluations[0].hash) << evaluation;
    }
    // The evaluation dataset's identity is part of the evaluation cell.
    const std::string other_data = replace(prefix, "[[encoder]]", "[[dataset]]\nname = \"e\"\nplugin = \"synthetic\"\n\n[[encoder]]") +
                                   "[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"e\"]\n";
    const Experiment experiment = load(other_data);
    const Plan same = expand(experiment, {{"d", identity("fp-d")}, {"e", identity("fp-d")}});
    const Plan differs = expand(experiment, {{"d", identity("fp-d")}, {"e", identity("fp-e")}});
    EXPECT_EQ(same.evaluations[0].hash, base.evaluations[0].hash);  // same content under another label
    EXPECT_NE(differs.evaluations[0].hash, base.evaluations[0].hash);
    EXPECT_EQ(differs.pretrain[0].hash, base.pretrain[0].hash);
}

// Class descriptions (zero-shot prompts) enter the cells of tasks that need them, and only those.
TEST(Hashes, ClassDescriptionsChangeOnlyCellsOfTasksThatReadThem) {
    auto available = manifests();
    available.push_back({"zero_shot", PluginKind::Task, "1.0", "zero-shot", {}, {"labels", "text_tower", "class_descriptions"}});
    const std::string prefix = kSmall.substr(0, kSmall.find("[[evaluation]]"));
    const Experiment experiment = load(prefix + "[[evaluation]]\ntask = \"zero_shot\"\ndatasets = [\"d\"]\n\n"
                                                "[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\n",
                                       available);
    auto plan_with = [&](const std::string& descriptions) {
        auto identities = identities_for(experiment);
        identities.at("d").class_descriptions_json = descriptions;
        return expand(experiment, identities);
    };
    const Plan none = plan_with(""), some = plan_with(R"({"AF":"atrial fibrillation"})"),
               other = plan_with(R"({"AF":"atrial flutter"})");
    ASSERT_EQ(none.evaluations.size(), 2u);
    EXPECT_NE(some.evaluations[0].hash, none.evaluations[0].hash);
    EXPECT_NE(other.evaluations[0].hash, some.evaluations[0].hash);
    EXPECT_NE(some.evaluations[0].config.find("\"class_descriptions_sha256\":\"" + sha256_hex(R"({"AF":"atrial fibrillation"})")),
              std::string::npos);
    // The linear probe reads no descriptions: its cell is what it was before descriptions existed.
    EXPECT_EQ(some.evaluations[1].hash, none.evaluations[1].hash);
    EXPECT_EQ(some.evaluations[1].hash, plan_of(kSmall).evaluations[0].hash);
    EXPECT_EQ(some.pretrain[0].hash, none.pretrain[0].hash);
}

TEST(Hashes, UnchangedByLabelsDescriptionAndDevice) {
    const Plan base = plan_of(kSmall);
    std::string text = replace(kSmall, "name = \"small\"", "name = \"renamed\"\ndescription = \"new words\"");
    text = replace(text, "plugin = \"resnet1d\"", "name = \"my-encoder\"\nplugin = \"resnet1d\"");
    text = replace(text, "plugin = \"simclr\"", "name = \"my-ssl\"\nplugin = \"simclr\"");
    text = replace(text, "task = \"linear_probe\"", "name = \"my-probe\"\ntask = \"linear_probe\"");
    text = replace(text, "datasets = [\"d\"]\n\n", "datasets = [\"d\"]\ndevice = \"cuda\"\n\n");
    // Writing a default explicitly is the same configuration as leaving it out.
    text = replace(text, "plugin = \"simclr\"", "plugin = \"simclr\"\nparams = { temperature = 0.5 }");
    // Renaming the dataset declaration: identities are keyed by the new name, with the same values.
    text = replace(text, "name = \"d\"", "name = \"renamed-data\"");
    text = replace(text, "datasets = [\"d\"]", "datasets = [\"renamed-data\"]");
    text = replace(text, "datasets = [\"d\"]", "datasets = [\"renamed-data\"]");
    const Experiment experiment = load(text);
    const Plan renamed = expand(experiment, {{"renamed-data", identity("fp-d")}});
    EXPECT_EQ(renamed.pretrain[0].config, base.pretrain[0].config);
    EXPECT_EQ(renamed.pretrain[0].hash, base.pretrain[0].hash);
    EXPECT_EQ(renamed.evaluations[0].hash, base.evaluations[0].hash);
}

TEST(Hashes, FloatParamWrittenAsIntegerHashesTheSame) {
    const Plan as_float = plan_of(replace(kSmall, "plugin = \"simclr\"", "plugin = \"simclr\"\nparams = { temperature = 1.0 }"));
    const Plan as_int = plan_of(replace(kSmall, "plugin = \"simclr\"", "plugin = \"simclr\"\nparams = { temperature = 1 }"));
    EXPECT_EQ(as_float.pretrain[0].hash, as_int.pretrain[0].hash);
}

TEST(Hashes, IdenticalPretrainingAcrossExperimentsHashesTheSame) {
    // A second experiment with other labels, extra axes and other evaluations shares the
    // (resnet1d, simclr, seed 0, dataset "d") pretraining cell with kSmall.
    const std::string other = R"([experiment]
name = "other"

[[dataset]]
name = "pre"
plugin = "synthetic"

[[dataset]]
name = "eval-set"
plugin = "synthetic"
params = { records = 20 }

[[encoder]]
plugin = "transformer"

[[encoder]]
name = "rn"
plugin = "resnet1d"
params = { size = "S" }

[[ssl]]
plugin = "simclr"

[pretrain]
datasets = ["pre"]
seeds = [1, 0]

[[evaluation]]
task = "finetune"
datasets = ["eval-set"]
label_fractions = [0.5]
)";
    const Plan small = plan_of(kSmall);
    const Experiment experiment = load(other);
    const Plan plan = expand(experiment, {{"pre", identity("fp-d")}, {"eval-set", identity("fp-e")}});
    ASSERT_EQ(plan.pretrain.size(), 4u);
    std::vector<std::string> hashes;
    for (const PretrainCell& cell : plan.pretrain) hashes.push_back(cell.hash);
    // Order: transformer/seed1, transformer/seed0, rn/seed1, rn/seed0.
    EXPECT_EQ(hashes[3], small.pretrain[0].hash);
    EXPECT_EQ(std::count(hashes.begin(), hashes.end(), small.pretrain[0].hash), 1);
}

TEST(Expand, MissingIdentityNamesTheDataset) {
    const Experiment experiment = load(kBig);
    auto identities = identities_for(experiment);
    identities.erase("held");
    try {
        (void)expand(experiment, identities);
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find("'held'"), std::string::npos) << error.what();
    }
}

// A File param's content, not only its path, is part of the identity: what the plugin reads.
TEST(Hashes, FileParamContentEntersTheIdentity) {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                      ("ecgbench-matrix-files-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    std::filesystem::create_directories(dir);
    const auto write = [&](const std::string& name, const std::string& bytes) {
        const std::string path = (dir / name).string();
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    };
    const auto hash_with = [&](const std::string& path) {
        return plan_of(replace(kSmall, "plugin = \"simclr\"", "plugin = \"clip\"\nparams = { text_model = \"" + path + "\" }"))
            .pretrain.at(0)
            .hash;
    };
    const std::string a = write("a.pt", "model A");
    const std::string a_copy = write("a_copy.pt", "model A");
    const std::string b = write("b.pt", "model B");

    const Plan plan = plan_of(replace(kSmall, "plugin = \"simclr\"", "plugin = \"clip\"\nparams = { text_model = \"" + a + "\" }"));
    EXPECT_NE(plan.pretrain.at(0).config.find("\"file_sha256\":{\"text_model\":\"" + sha256_hex("model A") + "\"}"),
              std::string::npos) << plan.pretrain.at(0).config;
    EXPECT_EQ(plan.pretrain.at(0).hash, hash_with(a));
    EXPECT_NE(hash_with(a), hash_with(b));
    // Same bytes elsewhere: the path is a param too, so the cell differs (a moved file is another cell)…
    EXPECT_NE(hash_with(a), hash_with(a_copy));
    // …but rewriting the file at the same path with other bytes changes the cell, same bytes keep it.
    const std::string before = hash_with(a);
    write("a.pt", "model A, edited");
    EXPECT_NE(hash_with(a), before);
    write("a.pt", "model A");
    EXPECT_EQ(hash_with(a), before);
    // An unset File param (the default "") adds nothing: the identity is that of the params alone.
    EXPECT_EQ(plan_of(replace(kSmall, "plugin = \"simclr\"", "plugin = \"clip\"")).pretrain.at(0).config.find("file_sha256"),
              std::string::npos);

    const std::string missing = (dir / "missing.pt").string();
    try {
        (void)hash_with(missing);
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& error) {
        const std::string what = error.what();
        EXPECT_NE(what.find("'clip'"), std::string::npos) << what;
        EXPECT_NE(what.find("'text_model'"), std::string::npos) << what;
        EXPECT_NE(what.find(missing), std::string::npos) << what;
    }
    std::filesystem::remove_all(dir);
}

TEST(Params, FileParamTakesAPathAndShowsItsType) {
    const std::vector<ParamSpec> schema{param::file("text_model", "a model")};
    EXPECT_EQ(validate_params(schema, {}).get_string("text_model"), "");
    EXPECT_EQ(validate_params(schema, {{"text_model", std::string("m.pt")}}).get_string("text_model"), "m.pt");
    EXPECT_THROW((void)validate_params(schema, {{"text_model", std::int64_t{3}}}), std::invalid_argument);
    EXPECT_STREQ(to_string(ParamType::File), "file");
}

TEST(Expand, UnusedDatasetNeedsNoIdentity) {
    const std::string text = replace(kSmall, "[[encoder]]", "[[dataset]]\nname = \"unused\"\nplugin = \"synthetic\"\n\n[[encoder]]");
    const Experiment experiment = load(text);
    const Plan plan = expand(experiment, {{"d", identity("fp-d")}});
    EXPECT_EQ(plan.pretrain.size(), 1u);
    EXPECT_EQ(plan.evaluations.size(), 1u);
}

}  // namespace
}  // namespace ecgbench

namespace ecgbench {
namespace {

// The shared training engine's settings: at their defaults (what every earlier version did) they
// leave cell identities as they were; any other value is part of the identity; checkpoint_every
// never is (it changes when state is written, not the result).
TEST(Hashes, TrainingEngineSettingsEnterTheIdentityOnlyWhenNotDefault) {
    const Plan base = plan_of(kSmall);
    const std::string defaults = "datasets = [\"d\"]\noptimizer = \"adamw\"\nwarmup_fraction = 0.05\ngrad_clip_norm = 0\n"
                                 "ema_decay = 0\nprecision = \"fp32\"\nmomentum = 0.9\ncheckpoint_every = 17\n\n";
    const Plan explicit_defaults = plan_of(replace(kSmall, "datasets = [\"d\"]\n\n", defaults));
    EXPECT_EQ(explicit_defaults.pretrain[0].hash, base.pretrain[0].hash);
    for (const std::string& setting : {"optimizer = \"sgd\"", "warmup_fraction = 0.1", "grad_clip_norm = 1.0", "ema_decay = 0.999",
                                       "precision = \"bf16\""}) {
        const Plan changed = plan_of(replace(kSmall, "datasets = [\"d\"]\n\n", "datasets = [\"d\"]\n" + setting + "\n\n"));
        EXPECT_NE(changed.pretrain[0].hash, base.pretrain[0].hash) << setting;
        EXPECT_NE(changed.pretrain[0].config.find(setting.substr(0, setting.find(' '))), std::string::npos) << setting;
    }
}

// An [[ssl]] entry's own budget (`pretrain = { ... }`) replaces [pretrain]'s keys for its cells
// only; a budget equal to [pretrain]'s is the same cell, wherever it was written.
TEST(Hashes, AMethodsOwnBudgetChangesOnlyItsCells) {
    const std::string two = replace(kSmall, "plugin = \"simclr\"\n", "plugin = \"simclr\"\n\n[[ssl]]\nplugin = \"byol\"\n");
    const Plan base = plan_of(two);
    ASSERT_EQ(base.pretrain.size(), 2u);
    const Plan longer = plan_of(replace(two, "plugin = \"byol\"\n", "plugin = \"byol\"\npretrain = { epochs = 30, learning_rate = 2e-3 }\n"));
    EXPECT_EQ(longer.pretrain[0].hash, base.pretrain[0].hash) << "simclr's cell moved";
    EXPECT_NE(longer.pretrain[1].hash, base.pretrain[1].hash);
    EXPECT_NE(longer.pretrain[1].config.find("\"epochs\":30"), std::string::npos) << longer.pretrain[1].config;
    EXPECT_NE(longer.pretrain[1].config.find("\"learning_rate\":0.002"), std::string::npos) << longer.pretrain[1].config;
    EXPECT_NE(longer.pretrain[1].config.find("\"weight_decay\":1e-04"), std::string::npos) << "the rest is [pretrain]'s";
    const Plan same = plan_of(replace(two, "plugin = \"byol\"\n", "plugin = \"byol\"\npretrain = { epochs = 10, max_steps = 0 }\n"));
    EXPECT_EQ(same.pretrain[1].hash, base.pretrain[1].hash);

    const Experiment experiment = load(replace(two, "plugin = \"byol\"\n", "plugin = \"byol\"\npretrain = { max_steps = 7 }\n"));
    EXPECT_EQ(pretrain_for(experiment, 0).max_steps, 0);
    EXPECT_EQ(pretrain_for(experiment, 1).max_steps, 7);
    EXPECT_EQ(pretrain_for(experiment, 1).epochs, 10);
}

}  // namespace
}  // namespace ecgbench

namespace ecgbench {
namespace {

std::string with_shifts(const std::string& shifts) {
    return kSmall + "shifts = " + shifts + "\n";
}

TEST(Shifts, OneCellPerConditionAndOnlyDataChangingShiftsEnterTheIdentity) {
    const Plan plain = plan_of(kSmall);
    const Plan shifted = plan_of(with_shifts(R"([{ name = "clean" }, { name = "ma-6", noise = "muscle", snr_db = 6 },
  { name = "lead-I", leads = ["i"] }, { name = "limb-ma", noise = "muscle", snr_db = 6, leads = "limb" }])"));
    ASSERT_EQ(plain.evaluations.size(), 1u);
    ASSERT_EQ(shifted.evaluations.size(), 4u);
    // "clean" changes nothing: the same cell (and stored result) as the evaluation without shifts.
    EXPECT_EQ(shifted.evaluations[0].hash, plain.evaluations[0].hash);
    std::set<std::string> hashes;
    for (const auto& cell : shifted.evaluations) hashes.insert(cell.hash);
    EXPECT_EQ(hashes.size(), 4u);
    EXPECT_NE(shifted.evaluations[1].config.find(R"("shift":{"noise":"muscle","snr_db":6})"), std::string::npos)
        << shifted.evaluations[1].config;
    EXPECT_NE(shifted.evaluations[2].config.find(R"("shift":{"leads":["I"]})"), std::string::npos) << shifted.evaluations[2].config;
    // The name is a label: renaming a condition keeps its cell.
    const Plan renamed = plan_of(with_shifts(R"([{ name = "muscle at 6 dB", noise = "muscle", snr_db = 6 }])"));
    EXPECT_EQ(renamed.evaluations[0].hash, shifted.evaluations[1].hash);
}

TEST(Shifts, BandwidthAndSamplingRateShiftsEnterTheIdentityAndCombine) {
    const Plan plain = plan_of(kSmall);
    const Plan shifted = plan_of(with_shifts(R"([{ name = "monitor", bandwidth_hz = [0.5, 40] }, { name = "lowpass", bandwidth_hz = [0, 40] },
  { name = "50 Hz", resample_hz = 50 }, { name = "all", resample_hz = 50, bandwidth_hz = [0.5, 40], noise = "muscle", snr_db = 6, leads = "limb" }])"));
    ASSERT_EQ(shifted.evaluations.size(), 4u);
    std::set<std::string> hashes{plain.evaluations[0].hash};
    for (const auto& cell : shifted.evaluations) hashes.insert(cell.hash);
    EXPECT_EQ(hashes.size(), 5u);
    EXPECT_NE(shifted.evaluations[0].config.find(R"("shift":{"bandwidth_hz":[0.5,40]})"), std::string::npos) << shifted.evaluations[0].config;
    EXPECT_NE(shifted.evaluations[1].config.find(R"("shift":{"bandwidth_hz":[0,40]})"), std::string::npos) << shifted.evaluations[1].config;
    EXPECT_NE(shifted.evaluations[2].config.find(R"("shift":{"resample_hz":50})"), std::string::npos) << shifted.evaluations[2].config;
    for (const char* key : {"bandwidth_hz", "resample_hz", "noise", "leads"})
        EXPECT_NE(shifted.evaluations[3].config.find(key), std::string::npos) << key;
}

TEST(Shifts, BadConditionsNameTheirLocation) {
    auto error_of = [](const std::string& shifts) {
        try {
            plan_of(with_shifts(shifts));
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(error_of(R"([{ name = "x", noise = "musle", snr_db = 6 }])").find("unknown noise 'musle'"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", noise = "muscle" }])").find("gives no 'snr_db'"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", snr_db = 6 }])").find("'snr_db' without 'noise'"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", leads = ["I", "Q"] }])").find("unknown lead 'Q'"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", leads = "chest" }])").find("unknown lead set 'chest'"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", random_leads = 13 }])").find("'random_leads'"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "a", leads = "cinc6" }, { name = "b", leads = "limb" }])").find("same condition"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "a" }, { name = "a", leads = "limb" }])").find("'a'"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", bandwidth_hz = [40] }])").find("[high-pass, low-pass]"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", bandwidth_hz = [40, 0.5] }])").find("below the low-pass corner"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", bandwidth_hz = [0, 0] }])").find("at least one of them > 0"), std::string::npos);
    EXPECT_NE(error_of(R"([{ name = "x", resample_hz = 0.5 }])").find("'resample_hz'"), std::string::npos);
    const std::string located = error_of(R"([{ name = "x", wobble = 1 }])");
    EXPECT_NE(located.find("exp.toml:"), std::string::npos) << located;
    EXPECT_NE(located.find("unknown key 'wobble'"), std::string::npos) << located;
}

}  // namespace
}  // namespace ecgbench

#include "preprocess/pipeline.hpp"

namespace ecgbench {
namespace {

// A preprocessing grid (`preprocess_variants`): one evaluation cell per variant, each hashed by its
// own pipeline; a variant adding no step is the same cell as the plain dataset with those params.
TEST(Hashes, PreprocessVariantsAreOneCellEachHashedByTheirPipeline) {
    const std::string text = replace(replace(kSmall, "[[encoder]]",
                                             "[[dataset]]\nname = \"grid\"\nplugin = \"synthetic\"\n"
                                             "preprocess_variants = { raw = [], bandpass = [{ step = \"bandpass\" }], "
                                             "std = [{ step = \"standardise\" }] }\n\n[[encoder]]"),
                                     "datasets = [\"d\"]\n\n[[evaluation]]", "datasets = [\"d\"]\n\n[[evaluation]]\nname = \"grid\"\n"
                                                                            "task = \"linear_probe\"\ndatasets = [\"grid\"]\n\n[[evaluation]]");
    const Experiment experiment = load(text);
    std::map<std::string, DatasetIdentity> identities;
    for (const DatasetDecl& decl : experiment.datasets)  // one plugin, one params: one fingerprint
        identities[decl.name] = {"fp-synthetic", "v1", 500.0, {"I", "II"}, Pipeline(decl.preprocess).json(), ""};
    const Plan plan = expand(experiment, identities);
    std::map<std::string, std::string> hash_of;  // evaluation dataset → cell hash
    std::map<std::string, std::string> config_of;
    for (const EvalCell& cell : plan.evaluations) {
        hash_of[experiment.datasets[cell.dataset].name] = cell.hash;
        config_of[experiment.datasets[cell.dataset].name] = cell.config;
    }
    ASSERT_EQ(plan.evaluations.size(), 4u);  // d, then grid/raw, grid/bandpass, grid/std
    EXPECT_EQ(hash_of.at("grid/raw"), hash_of.at("d"));
    EXPECT_NE(hash_of.at("grid/bandpass"), hash_of.at("grid/raw"));
    EXPECT_NE(hash_of.at("grid/std"), hash_of.at("grid/bandpass"));
    EXPECT_EQ(config_of.at("grid/raw").find("\"preprocess\""), std::string::npos);
    EXPECT_NE(config_of.at("grid/bandpass").find("\"preprocess\":[{\"params\":{\"high_hz\":40,\"low_hz\":0.5},\"step\":\"bandpass\"}]"),
              std::string::npos)
        << config_of.at("grid/bandpass");
    // Renaming a variant changes no identity (names are labels).
    const Experiment renamed = load(replace(text, "std = [", "standardised = ["));
    std::map<std::string, DatasetIdentity> renamed_identities;
    for (const DatasetDecl& decl : renamed.datasets)
        renamed_identities[decl.name] = {"fp-synthetic", "v1", 500.0, {"I", "II"}, Pipeline(decl.preprocess).json(), ""};
    const Plan renamed_plan = expand(renamed, renamed_identities);
    const auto standardised = std::find_if(renamed_plan.evaluations.begin(), renamed_plan.evaluations.end(),
                                           [&](const EvalCell& c) { return renamed.datasets[c.dataset].name == "grid/standardised"; });
    ASSERT_NE(standardised, renamed_plan.evaluations.end());
    EXPECT_EQ(standardised->hash, hash_of.at("grid/std"));
}

}  // namespace
}  // namespace ecgbench

namespace ecgbench {
namespace {

// linear_probe's covariates_at_test was added after linear-probe cells were stored: at its default
// ("observed", what the probe always did) it stays out of the identity, so those cells keep their
// hashes; "mean" enters it.
TEST(Hashes, LinearProbeCovariatesAtTestEntersTheIdentityOnlyWhenNotDefault) {
    const std::string plain = "[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\n";
    const Plan base = plan_of(kSmall);
    const Plan explicit_default = plan_of(replace(kSmall, plain, plain + "params = { covariates_at_test = \"observed\" }\n"));
    const Plan mean = plan_of(replace(kSmall, plain, plain + "params = { covariates_at_test = \"mean\" }\n"));
    ASSERT_EQ(base.evaluations.size(), 1u);
    EXPECT_EQ(explicit_default.evaluations[0].hash, base.evaluations[0].hash);
    EXPECT_EQ(base.evaluations[0].config.find("covariates_at_test"), std::string::npos) << base.evaluations[0].config;
    EXPECT_NE(mean.evaluations[0].hash, base.evaluations[0].hash);
    EXPECT_NE(mean.evaluations[0].config.find("\"covariates_at_test\":\"mean\""), std::string::npos) << mean.evaluations[0].config;
    EXPECT_NE(base.evaluations[0].config.find("\"epochs\":10"), std::string::npos) << "other defaults stay in";
}

// heartlang's vocabulary and vq_steps were added after heartlang cells were stored, an integer and a
// string default alike.
TEST(Hashes, HeartLangVocabularyParamsEnterTheIdentityOnlyWhenNotDefault) {
    const std::string simclr = "plugin = \"simclr\"\n";
    const Plan base = plan_of(replace(kSmall, simclr, "plugin = \"heartlang\"\n"));
    const Plan explicit_default =
        plan_of(replace(kSmall, simclr, "plugin = \"heartlang\"\nparams = { vocabulary = \"kmeans\", vq_steps = 3000 }\n"));
    const Plan vq = plan_of(replace(kSmall, simclr, "plugin = \"heartlang\"\nparams = { vocabulary = \"vq\" }\n"));
    const Plan steps = plan_of(replace(kSmall, simclr, "plugin = \"heartlang\"\nparams = { vq_steps = 10 }\n"));
    ASSERT_EQ(base.pretrain.size(), 1u);
    EXPECT_EQ(explicit_default.pretrain[0].hash, base.pretrain[0].hash);
    EXPECT_EQ(base.pretrain[0].config.find("vq_steps"), std::string::npos) << base.pretrain[0].config;
    EXPECT_NE(base.pretrain[0].config.find("\"vocabulary_size\":256"), std::string::npos) << base.pretrain[0].config;
    EXPECT_NE(vq.pretrain[0].hash, base.pretrain[0].hash);
    EXPECT_NE(steps.pretrain[0].hash, base.pretrain[0].hash);
    EXPECT_NE(steps.pretrain[0].config.find("\"vq_steps\":10"), std::string::npos) << steps.pretrain[0].config;
}

}  // namespace
}  // namespace ecgbench
