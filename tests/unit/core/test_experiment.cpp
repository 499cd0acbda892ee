// Experiment file parsing and validation: the full format, and every error with its message and
// file:line:column. Plugins are represented by hand-built manifests; no libraries are loaded.
#include "config/experiment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace ecgbench {
namespace {

const std::string kFile = "exp.toml";

// Every field of the format at least once: inline and sub-table params, defaulted names, leads
// in non-canonical spellings, all [pretrain] keys and two evaluations.
const std::string kFull = R"(# quickstart experiment
[experiment]
name = "quickstart"
description = "A small run"

[[dataset]]
name = "synth-pretrain"
plugin = "synthetic"
leads = ["I", "ii", " v1"]
params = { records = 800, noise = 0.05, label = "x", flag = true, tags = ["a", "b"] }

[[dataset]]
name = "synth-heldout"
plugin = "synthetic"
[dataset.params]
records = 200
seed = 7

[[encoder]]
name = "resnet1d-xs"
plugin = "resnet1d"
params = { size = "XS" }

[[encoder]]
plugin = "transformer"

[[ssl]]
plugin = "simclr"
params = { temperature = 0.1 }

[[ssl]]
plugin = "byol"

[pretrain]
datasets = ["synth-pretrain"]
seeds = [0, 1]
epochs = 3
batch_size = 32
max_steps = 100
learning_rate = 3e-4
weight_decay = 0
device = "auto"

[[evaluation]]
name = "probe"
task = "linear_probe"
datasets = ["synth-heldout"]
label_fractions = [1.0, 0.1]
params = { epochs = 5 }

[[evaluation]]
task = "finetune"
datasets = ["synth-heldout", "synth-pretrain"]
)";

// The smallest valid file; tests append or substitute to provoke one error at a time.
const std::string kMinimal = R"([experiment]
name = "mini"

[[dataset]]
name = "d"
plugin = "synthetic"

[[encoder]]
plugin = "resnet1d"

[[ssl]]
plugin = "simclr"

[pretrain]
datasets = ["d"]
)";

std::vector<PluginManifest> manifests() {
    std::vector<PluginManifest> all;
    all.push_back({"synthetic", PluginKind::Dataset, "1.2", "synthetic ECGs",
                   {{"records", ParamType::Int, std::int64_t{1000}, "records", 10.0, std::nullopt, {}},
                    {"noise", ParamType::Float, 0.0, "noise std", 0.0, 1.0, {}},
                    {"seed", ParamType::Int, std::int64_t{0}, "generator seed"},
                    {"label", ParamType::String, std::string{}, "a label"},
                    {"flag", ParamType::Bool, false, "a flag"},
                    {"tags", ParamType::StringList, std::vector<std::string>{}, "tags"}}});
    all.push_back({"resnet1d", PluginKind::Encoder, "0.3", "1-D ResNet",
                   {{"size", ParamType::String, std::string("S"), "size", std::nullopt, std::nullopt, {"XS", "S", "M"}}}});
    all.push_back({"transformer", PluginKind::Encoder, "1.0", "transformer",
                   {{"depth", ParamType::Int, std::int64_t{4}, "layers", 1.0}}});
    all.push_back({"simclr", PluginKind::Ssl, "1.0", "SimCLR",
                   {{"temperature", ParamType::Float, 0.5, "NT-Xent temperature", 0.01, 10.0}}});
    all.push_back({"byol", PluginKind::Ssl, "2.0", "BYOL", {{"momentum", ParamType::Float, 0.99, "EMA", 0.0, 1.0}}});
    all.push_back({"linear_probe", PluginKind::Task, "1.0", "linear probe",
                   {{"epochs", ParamType::Int, std::int64_t{10}, "epochs", 1.0}}});
    all.push_back({"finetune", PluginKind::Task, "1.1", "fine-tuning", {}});
    return all;
}

Experiment parse(const std::string& text) { return parse_experiment_text(text, kFile); }

/// "exp.toml:L:C" of the `occurrence`-th appearance of `needle` in `text` (toml++ columns are
/// 1-based; our texts are ASCII, so bytes and code points agree).
std::string loc(const std::string& text, const std::string& needle, int occurrence = 1) {
    std::size_t pos = std::string::npos;
    for (int i = 0; i < occurrence; ++i) {
        pos = text.find(needle, pos == std::string::npos ? 0 : pos + 1);
        if (pos == std::string::npos) throw std::logic_error("test bug: '" + needle + "' not in text");
    }
    int line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < pos; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return kFile + ":" + std::to_string(line) + ":" + std::to_string(pos - line_start + 1);
}

/// The message of the ConfigError that parsing (and, when `validate`, validating) raises.
std::string error_of(const std::string& text, bool validate = false) {
    try {
        Experiment experiment = parse(text);
        if (validate) validate_experiment(experiment, manifests());
    } catch (const ConfigError& error) {
        return error.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << text;
    return "";
}

/// Replaces the first occurrence of `from` (which must exist) with `to`.
std::string replace(std::string text, const std::string& from, const std::string& to) {
    const std::size_t pos = text.find(from);
    if (pos == std::string::npos) throw std::logic_error("test bug: '" + from + "' not in text");
    return text.replace(pos, from.size(), to);
}

#define EXPECT_ERROR(message, location, expected)                                   \
    do {                                                                            \
        const std::string actual_ = (message);                                      \
        EXPECT_EQ(actual_, (location) + std::string(": ") + (expected)) << actual_; \
    } while (0)

TEST(SourceLocation, Formats) {
    EXPECT_EQ((SourceLocation{"a.toml", 3, 7}).str(), "a.toml:3:7");
    EXPECT_EQ((SourceLocation{"a.toml", 0, 0}).str(), "a.toml");
    const ConfigError error(SourceLocation{"a.toml", 3, 7}, "boom");
    EXPECT_STREQ(error.what(), "a.toml:3:7: boom");
    EXPECT_EQ(error.where().line, 3);
}

TEST(ParseExperiment, FullExampleAllFields) {
    const Experiment e = parse(kFull);
    EXPECT_EQ(e.name, "quickstart");
    EXPECT_EQ(e.description, "A small run");
    EXPECT_EQ(e.file, kFile);
    EXPECT_EQ(e.toml_text, kFull);

    ASSERT_EQ(e.datasets.size(), 2u);
    const DatasetDecl& pre = e.datasets[0];
    EXPECT_EQ(pre.name, "synth-pretrain");
    EXPECT_EQ(pre.ref.plugin, "synthetic");
    EXPECT_EQ(pre.leads, (std::vector<std::string>{"I", "II", "V1"}));  // canonicalised
    EXPECT_EQ(pre.where.str(), loc(kFull, "[[dataset]]"));
    EXPECT_EQ(pre.ref.where.str(), loc(kFull, "plugin = \"synthetic\""));
    ASSERT_EQ(pre.ref.raw.size(), 5u);
    EXPECT_EQ(std::get<std::int64_t>(pre.ref.raw.at("records")), 800);
    EXPECT_DOUBLE_EQ(std::get<double>(pre.ref.raw.at("noise")), 0.05);
    EXPECT_EQ(std::get<std::string>(pre.ref.raw.at("label")), "x");
    EXPECT_EQ(std::get<bool>(pre.ref.raw.at("flag")), true);
    EXPECT_EQ(std::get<std::vector<std::string>>(pre.ref.raw.at("tags")), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(pre.ref.param_where.at("noise").str(), loc(kFull, "noise = 0.05"));

    const DatasetDecl& held = e.datasets[1];
    EXPECT_EQ(held.name, "synth-heldout");
    EXPECT_TRUE(held.leads.empty());
    EXPECT_EQ(std::get<std::int64_t>(held.ref.raw.at("records")), 200);
    EXPECT_EQ(std::get<std::int64_t>(held.ref.raw.at("seed")), 7);
    EXPECT_EQ(held.ref.param_where.at("seed").str(), loc(kFull, "seed = 7"));
    EXPECT_EQ(&e.dataset("synth-heldout"), &held);
    EXPECT_THROW((void)e.dataset("nope"), std::out_of_range);

    ASSERT_EQ(e.encoders.size(), 2u);
    EXPECT_EQ(e.encoders[0].name, "resnet1d-xs");
    EXPECT_EQ(std::get<std::string>(e.encoders[0].ref.raw.at("size")), "XS");
    EXPECT_EQ(e.encoders[1].name, "transformer");  // defaults to the plugin name
    EXPECT_TRUE(e.encoders[1].ref.raw.empty());
    ASSERT_EQ(e.ssl_methods.size(), 2u);
    EXPECT_EQ(e.ssl_methods[0].name, "simclr");
    EXPECT_EQ(e.ssl_methods[1].ref.plugin, "byol");

    const PretrainDecl& p = e.pretrain;
    EXPECT_EQ(p.datasets, (std::vector<std::string>{"synth-pretrain"}));
    EXPECT_EQ(p.seeds, (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(p.epochs, 3);
    EXPECT_EQ(p.batch_size, 32);
    EXPECT_EQ(p.max_steps, 100);
    EXPECT_DOUBLE_EQ(p.learning_rate, 3e-4);
    EXPECT_EQ(p.weight_decay, 0.0);  // an integer is accepted
    EXPECT_EQ(p.device, "auto");
    EXPECT_EQ(p.where.str(), loc(kFull, "[pretrain]"));

    ASSERT_EQ(e.evaluations.size(), 2u);
    EXPECT_EQ(e.evaluations[0].name, "probe");
    EXPECT_EQ(e.evaluations[0].task.plugin, "linear_probe");
    EXPECT_EQ(e.evaluations[0].task.where.str(), loc(kFull, "task = \"linear_probe\""));
    EXPECT_EQ(e.evaluations[0].datasets, (std::vector<std::string>{"synth-heldout"}));
    EXPECT_EQ(e.evaluations[0].label_fractions, (std::vector<double>{1.0, 0.1}));
    EXPECT_EQ(std::get<std::int64_t>(e.evaluations[0].task.raw.at("epochs")), 5);
    EXPECT_EQ(e.evaluations[1].name, "finetune");
    EXPECT_EQ(e.evaluations[1].datasets, (std::vector<std::string>{"synth-heldout", "synth-pretrain"}));
    EXPECT_EQ(e.evaluations[1].label_fractions, (std::vector<double>{1.0}));
}

TEST(ParseExperiment, Defaults) {
    const Experiment e = parse(kMinimal);
    EXPECT_EQ(e.description, "");
    EXPECT_EQ(e.pretrain.seeds, (std::vector<std::int64_t>{0}));
    EXPECT_EQ(e.pretrain.epochs, 10);
    EXPECT_EQ(e.pretrain.batch_size, 64);
    EXPECT_EQ(e.pretrain.max_steps, 0);
    EXPECT_DOUBLE_EQ(e.pretrain.learning_rate, 1e-3);
    EXPECT_DOUBLE_EQ(e.pretrain.weight_decay, 1e-4);
    EXPECT_EQ(e.pretrain.device, "cpu");
    EXPECT_TRUE(e.evaluations.empty());
    EXPECT_EQ(e.encoders[0].name, "resnet1d");
}

TEST(ParseExperiment, ParamsInlineAndSubTableAreEquivalent) {
    const Experiment inline_form = parse(kMinimal + "\n[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\n"
                                                    "params = { epochs = 3, mode = \"fast\" }\n");
    const Experiment sub_table = parse(kMinimal + "\n[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\n"
                                                  "[evaluation.params]\nepochs = 3\nmode = \"fast\"\n");
    const Experiment dotted = parse(kMinimal + "\n[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\n"
                                               "params.epochs = 3\nparams.mode = \"fast\"\n");
    EXPECT_EQ(inline_form.evaluations[0].task.raw, sub_table.evaluations[0].task.raw);
    EXPECT_EQ(inline_form.evaluations[0].task.raw, dotted.evaluations[0].task.raw);
    EXPECT_EQ(std::get<std::string>(sub_table.evaluations[0].task.raw.at("mode")), "fast");
    EXPECT_EQ(std::get<std::int64_t>(sub_table.evaluations[0].task.raw.at("epochs")), 3);
}

TEST(ParseExperiment, EmptyStringListParamIsAllowed) {
    const Experiment e = parse(replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetic\"\nparams = { tags = [] }"));
    EXPECT_TRUE(std::get<std::vector<std::string>>(e.datasets[0].ref.raw.at("tags")).empty());
}

TEST(ParseExperiment, ReadsFileAndKeepsText) {
    const auto path = std::filesystem::temp_directory_path() / ("ecgbench_exp_" + std::to_string(::getpid()) + ".toml");
    std::ofstream(path) << kFull;
    const Experiment e = parse_experiment_file(path.string());
    std::filesystem::remove(path);
    EXPECT_EQ(e.file, path.string());
    EXPECT_EQ(e.toml_text, kFull);
    EXPECT_EQ(e.pretrain.where.file, path.string());
}

TEST(ParseErrors, UnreadableFileNamesThePath) {
    const std::string path = "/nonexistent/dir/experiment.toml";
    try {
        (void)parse_experiment_file(path);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()).rfind(path + ": cannot read experiment file", 0), 0u) << error.what();
        EXPECT_EQ(error.where().file, path);
    }
    EXPECT_THROW((void)parse_experiment_file(std::filesystem::temp_directory_path().string()), ConfigError);
}

TEST(ParseErrors, TomlSyntaxErrorCarriesTomlLocation) {
    const std::string text = "[experiment]\nname = \"x\"\nbroken = \n";
    const std::string message = error_of(text);
    EXPECT_EQ(message.rfind("exp.toml:3:10: TOML syntax error: ", 0), 0u) << message;
    EXPECT_NE(message.find("expected"), std::string::npos) << message;  // toml++'s own description
}

TEST(ParseErrors, UnknownKeyWithSuggestion) {
    const std::string text = replace(kMinimal, "datasets = [\"d\"]", "datasets = [\"d\"]\nepoch = 5");
    EXPECT_ERROR(error_of(text), loc(text, "epoch ="), "unknown key 'epoch' in [pretrain] (did you mean 'epochs'?)");
}

TEST(ParseErrors, UnknownKeyWithoutSuggestion) {
    const std::string text = replace(kMinimal, "name = \"mini\"", "name = \"mini\"\nowner = \"me\"");
    EXPECT_ERROR(error_of(text), loc(text, "owner"), "unknown key 'owner' in [experiment]");
}

TEST(ParseErrors, AMethodsOwnBudgetIsCheckedLikePretrain) {
    const std::string ssl = "plugin = \"simclr\"\n";
    const std::string unknown = replace(kMinimal, ssl, ssl + "pretrain = { epoch = 5 }\n");
    EXPECT_ERROR(error_of(unknown), loc(unknown, "epoch ="),
                 "unknown key 'epoch' in [[ssl]] pretrain (did you mean 'epochs'?)");
    const std::string zero = replace(kMinimal, ssl, ssl + "pretrain = { epochs = 0 }\n");
    EXPECT_ERROR(error_of(zero), loc(zero, "0 }"), "'epochs' in [[ssl]] pretrain must be >= 1, found 0");
    const std::string rate = replace(kMinimal, ssl, ssl + "pretrain = { learning_rate = -1 }\n");
    EXPECT_ERROR(error_of(rate), loc(rate, "-1"), "'learning_rate' in [[ssl]] pretrain must be > 0");
    // Only training-budget keys: the batch size and the seeds stay the experiment's.
    const std::string batch = replace(kMinimal, ssl, ssl + "pretrain = { batch_size = 8 }\n");
    EXPECT_ERROR(error_of(batch), loc(batch, "batch_size"), "unknown key 'batch_size' in [[ssl]] pretrain");
    const std::string table = replace(kMinimal, ssl, ssl + "pretrain = 5\n");
    EXPECT_ERROR(error_of(table), loc(table, "5\n"), "wrong type for 'pretrain' in [[ssl]]: expected table, found integer");
    const std::string encoder = replace(kMinimal, "plugin = \"resnet1d\"\n", "plugin = \"resnet1d\"\npretrain = { epochs = 2 }\n");
    EXPECT_ERROR(error_of(encoder), loc(encoder, "pretrain ="), "unknown key 'pretrain' in [[encoder]]");
}

TEST(ParseErrors, UnknownTopLevelTable) {
    const std::string text = kMinimal + "\n[pretrian]\nepochs = 1\n";
    EXPECT_ERROR(error_of(text), loc(text, "pretrian"),
                 "unknown key 'pretrian' at the top level (did you mean 'pretrain'?)");
}

TEST(ParseErrors, UnknownKeyInArrayTable) {
    const std::string text = replace(kMinimal, "plugin = \"synthetic\"", "plugins = \"synthetic\"");
    EXPECT_ERROR(error_of(text), loc(text, "plugins"), "unknown key 'plugins' in [[dataset]] (did you mean 'plugin'?)");
}

TEST(ParseErrors, FirstUnknownKeyInDocumentOrder) {
    // 'zz' sorts after 'aa' but comes first in the file.
    const std::string text = replace(kMinimal, "datasets = [\"d\"]", "zzz = 1\naaa = 2\ndatasets = [\"d\"]");
    EXPECT_ERROR(error_of(text), loc(text, "zzz"), "unknown key 'zzz' in [pretrain]");
}

TEST(ParseErrors, WrongTypeNamesKeyExpectedAndFound) {
    const std::string text = replace(kMinimal, "datasets = [\"d\"]", "datasets = [\"d\"]\nepochs = \"ten\"");
    EXPECT_ERROR(error_of(text), loc(text, "\"ten\""),
                 "wrong type for 'epochs' in [pretrain]: expected integer, found string");

    const std::string lr = replace(kMinimal, "datasets = [\"d\"]", "datasets = [\"d\"]\nlearning_rate = true");
    EXPECT_ERROR(error_of(lr), loc(lr, "true"),
                 "wrong type for 'learning_rate' in [pretrain]: expected number, found boolean");

    const std::string plugin = replace(kMinimal, "plugin = \"synthetic\"", "plugin = 3");
    EXPECT_ERROR(error_of(plugin), loc(plugin, "3\n"), "wrong type for 'plugin' in [[dataset]]: expected string, found integer");

    const std::string params = replace(kMinimal, "plugin = \"resnet1d\"", "plugin = \"resnet1d\"\nparams = \"XS\"");
    EXPECT_ERROR(error_of(params), loc(params, "\"XS\""),
                 "wrong type for 'params' in [[encoder]]: expected table, found string");

    const std::string seeds = replace(kMinimal, "datasets = [\"d\"]", "datasets = [\"d\"]\nseeds = [0, 1.5]");
    EXPECT_ERROR(error_of(seeds), loc(seeds, "1.5"),
                 "wrong type for an element of 'seeds' in [pretrain]: expected integer, found float");

    const std::string datasets = replace(kMinimal, "datasets = [\"d\"]", "datasets = \"d\"");
    EXPECT_ERROR(error_of(datasets), loc(datasets, "\"d\"", 2),
                 "wrong type for 'datasets' in [pretrain]: expected array of strings, found string");
}

TEST(ParseErrors, SectionOfWrongShape) {
    const std::string text = replace(kMinimal, "[[encoder]]", "[encoder]");
    EXPECT_ERROR(error_of(text), loc(text, "[encoder]"),
                 "wrong type for 'encoder' at the top level: expected array of tables ([[encoder]]), found table");
    const std::string pretrain = replace(kMinimal, "[pretrain]\ndatasets = [\"d\"]", "[[pretrain]]\ndatasets = [\"d\"]");
    EXPECT_ERROR(error_of(pretrain), loc(pretrain, "[[pretrain]]"),
                 "wrong type for 'pretrain' at the top level: expected table ([pretrain]), found array");
}

TEST(ParseErrors, MissingKeyPointsAtEnclosingTable) {
    const std::string text = replace(kMinimal, "plugin = \"synthetic\"\n", "");
    EXPECT_ERROR(error_of(text), loc(text, "[[dataset]]"), "missing required key 'plugin' in [[dataset]]");

    const std::string name = replace(kMinimal, "name = \"mini\"\n", "");
    EXPECT_ERROR(error_of(name), loc(name, "[experiment]"), "missing required key 'name' in [experiment]");

    const std::string datasets = replace(kMinimal, "datasets = [\"d\"]\n", "");
    EXPECT_ERROR(error_of(datasets), loc(datasets, "[pretrain]"), "missing required key 'datasets' in [pretrain]");

    const std::string task = kMinimal + "\n[[evaluation]]\ndatasets = [\"d\"]\n";
    EXPECT_ERROR(error_of(task), loc(task, "[[evaluation]]"), "missing required key 'task' in [[evaluation]]");
}

TEST(ParseErrors, MissingTablesPointAtFileStart) {
    const std::string pretrain = kMinimal.substr(0, kMinimal.find("[pretrain]"));
    EXPECT_ERROR(error_of(pretrain), std::string("exp.toml:1:1"), "missing required table [pretrain]");
    const std::string ssl = replace(kMinimal, "[[ssl]]\nplugin = \"simclr\"\n", "");
    EXPECT_ERROR(error_of(ssl), std::string("exp.toml:1:1"), "missing required [[ssl]] (declare at least one)");
    const std::string experiment = replace(kMinimal, "[experiment]\nname = \"mini\"\n", "");
    EXPECT_ERROR(error_of(experiment), std::string("exp.toml:1:1"), "missing required table [experiment]");
}

TEST(ParseErrors, InvalidExperimentName) {
    const std::string text = replace(kMinimal, "\"mini\"", "\"mini run\"");
    EXPECT_ERROR(error_of(text), loc(text, "\"mini run\""),
                 "experiment name 'mini run' may only contain letters, digits, '_', '.' and '-'");
}

TEST(ParseErrors, UnknownDatasetReferenceInPretrain) {
    const std::string text = replace(replace(kMinimal, "name = \"d\"", "name = \"synth-pretrain\""),
                                     "datasets = [\"d\"]", "datasets = [\"synth-pretrain\", \"synth-pretrian\"]");
    EXPECT_ERROR(error_of(text), loc(text, "\"synth-pretrian\""),
                 "unknown dataset 'synth-pretrian' in 'datasets' in [pretrain] (did you mean 'synth-pretrain'?)");
}

TEST(ParseErrors, UnknownDatasetReferenceInEvaluation) {
    const std::string text = kMinimal + "\n[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"ptbxl\"]\n";
    EXPECT_ERROR(error_of(text), loc(text, "\"ptbxl\""),
                 "unknown dataset 'ptbxl' in 'datasets' in [[evaluation]] (declared datasets: d)");
}

TEST(ParseErrors, EmptyAndDuplicateLists) {
    const std::string empty = replace(kMinimal, "datasets = [\"d\"]", "datasets = []");
    EXPECT_ERROR(error_of(empty), loc(empty, "[]"), "'datasets' in [pretrain] must not be empty");
    const std::string dup = replace(kMinimal, "datasets = [\"d\"]", "datasets = [\"d\", \"d\"]");
    EXPECT_ERROR(error_of(dup), loc(dup, "\"d\"]"), "duplicate 'd' in 'datasets' in [pretrain]");
    const std::string seeds = replace(kMinimal, "datasets = [\"d\"]", "datasets = [\"d\"]\nseeds = [3, 4, 3]");
    EXPECT_ERROR(error_of(seeds), loc(seeds, "3]"), "duplicate seed 3 in [pretrain]");
}

TEST(ParseErrors, OutOfRangeValues) {
    struct Case {
        std::string line, at, message;
    };
    const Case cases[] = {
        {"epochs = 0", "0", "'epochs' in [pretrain] must be >= 1, found 0"},
        {"batch_size = 1", "1", "'batch_size' in [pretrain] must be >= 2, found 1"},
        {"max_steps = -1", "-1", "'max_steps' in [pretrain] must be >= 0, found -1"},
        {"learning_rate = 0.0", "0.0", "'learning_rate' in [pretrain] must be > 0"},
        {"learning_rate = nan", "nan", "'learning_rate' in [pretrain] must be a finite number"},
        {"weight_decay = -1", "-1", "'weight_decay' in [pretrain] must be >= 0"},
        {"seeds = [-2]", "-2", "seeds in [pretrain] must be >= 0, found -2"},
        {"device = \"gpu\"", "\"gpu\"", "'device' in [pretrain] must be one of cpu, cuda, auto; found 'gpu' (did you mean 'cpu'?)"},
        {"device = \"CUDA\"", "\"CUDA\"", "'device' in [pretrain] must be one of cpu, cuda, auto; found 'CUDA' (did you mean 'cuda'?)"},
    };
    for (const Case& c : cases) {
        const std::string text = kMinimal + c.line + "\n";
        // The appended line follows kMinimal's last newline.
        const auto line = std::count(kMinimal.begin(), kMinimal.end(), '\n') + 1;
        const std::string where = kFile + ":" + std::to_string(line) + ":" + std::to_string(c.line.find(c.at) + 1);
        EXPECT_ERROR(error_of(text), where, c.message);
    }
}

TEST(ParseErrors, LabelFractionsOutOfRange) {
    const std::string base = kMinimal + "\n[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\n";
    const std::string zero = base + "label_fractions = [0.5, 0]\n";
    EXPECT_ERROR(error_of(zero), loc(zero, "0]"), "label fractions in [[evaluation]] must be in (0, 1], found 0");
    const std::string big = base + "label_fractions = [1.5]\n";
    EXPECT_ERROR(error_of(big), loc(big, "1.5"), "label fractions in [[evaluation]] must be in (0, 1], found 1.5");
    const std::string dup = base + "label_fractions = [0.1, 1, 0.1]\n";
    EXPECT_ERROR(error_of(dup), loc(dup, "0.1]"), "duplicate label fraction in 'label_fractions' in [[evaluation]]");
    const std::string text = base + "label_fractions = [\"all\"]\n";
    EXPECT_ERROR(error_of(text), loc(text, "\"all\""),
                 "wrong type for 'label_fractions' in [[evaluation]]: expected number, found string");
}

TEST(ParseErrors, UnsupportedParamValues) {
    const std::string date = replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetic\"\nparams = { since = 2020-01-01 }");
    EXPECT_ERROR(error_of(date), loc(date, "2020"),
                 "param 'since' in [[dataset]] params has an unsupported type: date (params may be integers, floats, "
                 "booleans, strings or arrays of strings)");
    const std::string nested = replace(kMinimal, "plugin = \"resnet1d\"", "plugin = \"resnet1d\"\n[encoder.params.block]\nwidth = 3");
    EXPECT_ERROR(error_of(nested), loc(nested, "[encoder.params.block]"),
                 "param 'block' in [[encoder]] params has an unsupported type: table (params may be integers, floats, "
                 "booleans, strings or arrays of strings)");
    const std::string mixed = replace(kMinimal, "plugin = \"simclr\"", "plugin = \"simclr\"\nparams = { views = [\"a\", 2] }");
    EXPECT_ERROR(error_of(mixed), loc(mixed, "[\"a\", 2]"),
                 "param 'views' in [[ssl]] params has an unsupported type: array holding integer (params may be "
                 "integers, floats, booleans, strings or arrays of strings)");
    const std::string inf = replace(kMinimal, "plugin = \"simclr\"", "plugin = \"simclr\"\nparams = { temperature = inf }");
    EXPECT_ERROR(error_of(inf), loc(inf, "inf }"), "param 'temperature' in [[ssl]] params must be a finite number");
}

TEST(ParseErrors, Leads) {
    const std::string unknown = replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetic\"\nleads = [\"I\", \"V7\"]");
    EXPECT_ERROR(error_of(unknown), loc(unknown, "\"V7\""),
                 "unknown lead 'V7' in dataset 'd' (standard leads: I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6)");
    const std::string dup = replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetic\"\nleads = [\"II\", \"I\", \"ii\"]");
    EXPECT_ERROR(error_of(dup), loc(dup, "\"ii\""), "duplicate lead 'II' in dataset 'd'");
    const std::string number = replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetic\"\nleads = [1]");
    EXPECT_ERROR(error_of(number), loc(number, "1]"),
                 "wrong type for an element of 'leads' in [[dataset]]: expected string, found integer");
    const std::string empty = replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetic\"\nleads = []");
    EXPECT_ERROR(error_of(empty), loc(empty, "[]"), "'leads' in [[dataset]] must not be empty");
}

TEST(ParseExperiment, PreprocessStepsInOrderWithDefaults) {
    const Experiment e = parse(replace(kMinimal, "plugin = \"synthetic\"",
                                       "plugin = \"synthetic\"\npreprocess = [{ step = \"resample\", hz = 250 }, "
                                       "{ step = \"bandpass\", high_hz = 30.0 }, { step = \"standardise\" }]"));
    const auto& steps = e.datasets.at(0).preprocess;
    ASSERT_EQ(steps.size(), 3u);
    EXPECT_EQ(steps[0].step, "resample");
    EXPECT_DOUBLE_EQ(steps[0].params.get_float("hz"), 250.0);  // an integer is a valid float
    EXPECT_DOUBLE_EQ(steps[1].params.get_float("high_hz"), 30.0);
    EXPECT_DOUBLE_EQ(steps[1].params.get_float("low_hz"), 0.5);  // default filled in
    EXPECT_EQ(steps[2].step, "standardise");
    // The [[dataset.preprocess]] spelling is the same thing.
    const Experiment f = parse(kMinimal + "[[dataset.preprocess]]\nstep = \"notch\"\nhz = 60\n");
    ASSERT_EQ(f.datasets.at(0).preprocess.size(), 1u);
    EXPECT_DOUBLE_EQ(f.datasets.at(0).preprocess[0].params.get_float("hz"), 60.0);
}

TEST(ParseErrors, PreprocessStepsNameTheStepAndKey) {
    auto with = [](const std::string& steps) {
        return replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetic\"\npreprocess = [" + steps + "]");
    };
    const std::string unknown = with("{ step = \"bandpas\" }");
    EXPECT_ERROR(error_of(unknown), loc(unknown, "\"bandpas\""),
                 "unknown preprocess step 'bandpas' (did you mean 'bandpass'?) (steps: bandpass, baseline, beats, notch, resample, "
                 "standardise, window) in 'preprocess' of dataset 'd'");
    const std::string key = with("{ step = \"resample\", rate = 100 }");
    EXPECT_ERROR(error_of(key), loc(key, "rate"),
                 "unknown key 'rate' for preprocess step 'resample' in 'preprocess' of dataset 'd' (keys: hz)");
    const std::string range = with("{ step = \"notch\", hz = 0.5 }");
    EXPECT_NE(error_of(range).find(loc(range, "hz = 0.5") + ": parameter 'hz'"), std::string::npos) << error_of(range);
    const std::string missing = with("{ hz = 100 }");
    EXPECT_NE(error_of(missing).find("missing required key 'step'"), std::string::npos) << error_of(missing);
    const std::string shape = replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetic\"\npreprocess = \"resample\"");
    EXPECT_NE(error_of(shape).find("wrong type for 'preprocess'"), std::string::npos) << error_of(shape);
}

// A preprocessing grid: one declaration per variant, "<name>/<variant>", each with the entry's steps
// then its own, in document order; the entry's name stands for all of them where datasets are listed.
const std::string kVariants = R"([experiment]
name = "grid"

[[dataset]]
name = "d"
plugin = "synthetic"
params = { records = 50 }
preprocess = [{ step = "resample", hz = 100 }]
preprocess_variants = { raw = [], bandpass = [{ step = "bandpass", high_hz = 30 }], bp-std = [{ step = "bandpass" }, { step = "standardise" }] }

[[dataset]]
name = "other"
plugin = "synthetic"

[[encoder]]
plugin = "resnet1d"

[[ssl]]
plugin = "simclr"

[pretrain]
datasets = ["other"]

[[evaluation]]
task = "linear_probe"
datasets = ["d", "other"]

[[evaluation]]
name = "one"
task = "linear_probe"
datasets = ["d/bandpass"]
shifts = [{ name = "clean" }, { name = "on raw", test_dataset = "d/raw" }]
)";

TEST(ParseExperiment, PreprocessVariantsExpandIntoOneDatasetEach) {
    Experiment e = parse(kVariants);
    ASSERT_EQ(e.datasets.size(), 4u);
    EXPECT_EQ(e.datasets[0].name, "d/raw");
    EXPECT_EQ(e.datasets[1].name, "d/bandpass");
    EXPECT_EQ(e.datasets[2].name, "d/bp-std");
    EXPECT_EQ(e.datasets[3].name, "other");
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(e.datasets[i].ref.plugin, "synthetic");
        EXPECT_EQ(std::get<std::int64_t>(e.datasets[i].ref.raw.at("records")), 50);
        ASSERT_FALSE(e.datasets[i].preprocess.empty());
        EXPECT_EQ(e.datasets[i].preprocess[0].step, "resample");  // the entry's steps first
    }
    EXPECT_EQ(e.datasets[0].preprocess.size(), 1u);
    ASSERT_EQ(e.datasets[1].preprocess.size(), 2u);
    EXPECT_DOUBLE_EQ(e.datasets[1].preprocess[1].params.get_float("high_hz"), 30.0);
    ASSERT_EQ(e.datasets[2].preprocess.size(), 3u);
    EXPECT_EQ(e.datasets[2].preprocess[2].step, "standardise");
    EXPECT_EQ(e.datasets[1].where.str(), loc(kVariants, "bandpass ="));
    // "d" in a list is every variant, in order; a variant is named alone.
    EXPECT_EQ(e.evaluations[0].datasets, (std::vector<std::string>{"d/raw", "d/bandpass", "d/bp-std", "other"}));
    EXPECT_EQ(e.evaluations[1].datasets, (std::vector<std::string>{"d/bandpass"}));
    EXPECT_EQ(e.evaluations[1].shifts[1].test_dataset, "d/raw");
    validate_experiment(e, manifests());
    EXPECT_EQ(e.dataset("d/bp-std").preprocess.size(), 3u);
}

TEST(ParseErrors, PreprocessVariantsNameFileAndLine) {
    const std::string bad_name = replace(kVariants, "raw = []", "\"r w\" = []");
    EXPECT_ERROR(error_of(bad_name), loc(bad_name, "\"r w\""),
                 "preprocessing variant name 'r w' of dataset 'd' may only contain letters, digits, '_', '.' and '-'");
    const std::string bad_step = replace(kVariants, "{ step = \"standardise\" }", "{ step = \"standardize\" }");
    EXPECT_NE(error_of(bad_step).find(loc(bad_step, "\"standardize\"") + ": unknown preprocess step 'standardize' (did you mean "
                                                                      "'standardise'?)"),
              std::string::npos)
        << error_of(bad_step);
    EXPECT_NE(error_of(bad_step).find("of dataset 'd/bp-std'"), std::string::npos) << error_of(bad_step);
    const std::string line = kVariants.substr(kVariants.find("preprocess_variants"), kVariants.find('\n', kVariants.find("preprocess_variants")) -
                                                                                       kVariants.find("preprocess_variants"));
    const std::string empty = replace(kVariants, line, "preprocess_variants = {}");
    EXPECT_NE(error_of(empty).find(loc(empty, "{}") + ": wrong type for 'preprocess_variants'"), std::string::npos) << error_of(empty);
    const std::string twice = replace(kVariants, "datasets = [\"d\", \"other\"]", "datasets = [\"d\", \"d/raw\"]");
    EXPECT_ERROR(error_of(twice), loc(twice, "\"d/raw\"]"),
                 "dataset 'd/raw' appears twice in 'datasets' in [[evaluation]] ('d' stands for all its preprocessing variants)");
    const std::string whole = replace(kVariants, "test_dataset = \"d/raw\"", "test_dataset = \"d\"");
    EXPECT_ERROR(error_of(whole), loc(whole, "\"d\" }"),
                 "'test_dataset' in 'shifts' of evaluation 'one' names 'd', which has preprocessing variants: name one of d/raw, "
                 "d/bandpass, d/bp-std");
    const std::string clash = replace(kVariants, "name = \"other\"", "name = \"d/raw\"");
    EXPECT_ERROR(error_of(clash), loc(clash, "\"d/raw\""),
                 "duplicate dataset name 'd/raw' (first declared at " + loc(clash, "raw = []") + ")");
    const std::string typo = replace(kVariants, "datasets = [\"d/bandpass\"]", "datasets = [\"d/bandpas\"]");
    EXPECT_NE(error_of(typo).find("unknown dataset 'd/bandpas' in 'datasets' in [[evaluation]] (did you mean 'd/bandpass'?)"),
              std::string::npos)
        << error_of(typo);
}

TEST(ParseErrors, DuplicateNames) {
    const std::string datasets = kMinimal + "\n[[dataset]]\nname = \"d\"\nplugin = \"synthetic\"\n";
    EXPECT_ERROR(error_of(datasets), loc(datasets, "\"d\"", 3),
                 "duplicate dataset name 'd' (first declared at " + loc(datasets, "\"d\"") + ")");
    const std::string encoders = kMinimal + "\n[[encoder]]\nplugin = \"resnet1d\"\n";
    EXPECT_ERROR(error_of(encoders), loc(encoders, "[[encoder]]", 2),
                 "duplicate encoder name 'resnet1d' (first declared at " + loc(encoders, "[[encoder]]") +
                     "); give each [[encoder]] a distinct 'name'");
    const std::string named = kMinimal + "\n[[ssl]]\nname = \"simclr\"\nplugin = \"byol\"\n";
    EXPECT_ERROR(error_of(named), loc(named, "\"simclr\"", 2),
                 "duplicate ssl name 'simclr' (first declared at " + loc(named, "[[ssl]]") + ")");
    const std::string evals = kMinimal + "\n[[evaluation]]\ntask = \"linear_probe\"\ndatasets = [\"d\"]\n"
                                         "\n[[evaluation]]\nname = \"linear_probe\"\ntask = \"finetune\"\ndatasets = [\"d\"]\n";
    EXPECT_ERROR(error_of(evals), loc(evals, "\"linear_probe\"", 2),
                 "duplicate evaluation name 'linear_probe' (first declared at " + loc(evals, "[[evaluation]]") + ")");
}

TEST(ParseErrors, EmptyRequiredString) {
    const std::string text = replace(kMinimal, "plugin = \"simclr\"", "plugin = \"\"");
    EXPECT_ERROR(error_of(text), loc(text, "\"\""), "'plugin' in [[ssl]] must not be empty");
}

TEST(ValidateExperiment, FillsParamsAndVersions) {
    Experiment e = parse(kFull);
    validate_experiment(e, manifests());
    const Params& synth = e.datasets[0].ref.params;
    EXPECT_EQ(synth.get_int("records"), 800);
    EXPECT_EQ(synth.get_int("seed"), 0);  // default filled
    EXPECT_EQ(synth.get_strings("tags"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(e.datasets[0].ref.version, "1.2");
    EXPECT_EQ(e.datasets[1].ref.params.get_int("seed"), 7);
    EXPECT_EQ(e.encoders[0].ref.params.get_string("size"), "XS");
    EXPECT_EQ(e.encoders[0].ref.version, "0.3");
    EXPECT_EQ(e.encoders[1].ref.params.get_int("depth"), 4);
    EXPECT_DOUBLE_EQ(e.ssl_methods[0].ref.params.get_float("temperature"), 0.1);
    EXPECT_EQ(e.ssl_methods[1].ref.version, "2.0");
    EXPECT_EQ(e.evaluations[0].task.params.get_int("epochs"), 5);
    EXPECT_EQ(e.evaluations[1].task.version, "1.1");
    EXPECT_TRUE(e.evaluations[1].task.params.values().empty());
}

TEST(ValidateExperiment, FloatParamAcceptsInteger) {
    Experiment e = parse(replace(kMinimal, "plugin = \"simclr\"", "plugin = \"simclr\"\nparams = { temperature = 1 }"));
    validate_experiment(e, manifests());
    EXPECT_DOUBLE_EQ(e.ssl_methods[0].ref.params.get_float("temperature"), 1.0);
}

TEST(ValidateErrors, UnknownPluginWithSuggestion) {
    const std::string text = replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"synthetc\"");
    EXPECT_ERROR(error_of(text, true), loc(text, "plugin = \"synthetc\""),
                 "unknown dataset plugin 'synthetc' (did you mean 'synthetic'?)");
}

TEST(ValidateErrors, UnknownPluginListsAvailable) {
    const std::string text = replace(kMinimal, "plugin = \"simclr\"", "plugin = \"moco\"");
    EXPECT_ERROR(error_of(text, true), loc(text, "plugin = \"moco\""),
                 "unknown ssl plugin 'moco' (available ssl plugins: simclr, byol)");
    Experiment e = parse(kMinimal);
    try {
        validate_experiment(e, {});
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()), loc(kMinimal, "plugin = \"synthetic\"") +
                                                 ": unknown dataset plugin 'synthetic' (no dataset plugins are available)");
    }
}

TEST(ValidateErrors, PluginOfAnotherKind) {
    const std::string text = replace(kMinimal, "plugin = \"synthetic\"", "plugin = \"resnet1d\"");
    EXPECT_ERROR(error_of(text, true), loc(text, "plugin = \"resnet1d\""),
                 "'resnet1d' is an encoder plugin, not a dataset plugin");
    const std::string task = kMinimal + "\n[[evaluation]]\ntask = \"simclr\"\ndatasets = [\"d\"]\n";
    EXPECT_ERROR(error_of(task, true), loc(task, "task ="), "'simclr' is an ssl plugin, not a task plugin");
}

TEST(ValidateErrors, UnknownParamKey) {
    const std::string text = replace(kMinimal, "plugin = \"resnet1d\"", "plugin = \"resnet1d\"\nparams = { sise = \"XS\" }");
    EXPECT_ERROR(error_of(text, true), loc(text, "sise"),
                 "unknown param 'sise' for encoder plugin 'resnet1d' (did you mean 'size'?)");
    const std::string far = replace(kMinimal, "plugin = \"resnet1d\"", "plugin = \"resnet1d\"\n[encoder.params]\nwidth = 3");
    EXPECT_ERROR(error_of(far, true), loc(far, "width"), "unknown param 'width' for encoder plugin 'resnet1d' (its params: size)");
    const std::string none = kMinimal + "\n[[evaluation]]\ntask = \"finetune\"\ndatasets = [\"d\"]\nparams = { lr = 1 }\n";
    EXPECT_ERROR(error_of(none, true), loc(none, "lr = 1"), "unknown param 'lr' for task plugin 'finetune' (it takes no params)");
}

TEST(ValidateErrors, ParamProblemsFromSchemaPointAtTheParam) {
    // The text after the prefix is validate_params' own; we check the prefix, location and key.
    struct Case {
        std::string from, to, at;
    };
    const Case cases[] = {
        {"plugin = \"synthetic\"", "plugin = \"synthetic\"\nparams = { noise = 0.1, records = \"many\" }", "records"},
        {"plugin = \"synthetic\"", "plugin = \"synthetic\"\nparams = { records = 5 }", "records"},  // below min 10
        {"plugin = \"simclr\"", "plugin = \"simclr\"\nparams = { temperature = 100.0 }", "temperature"},
        {"plugin = \"resnet1d\"", "plugin = \"resnet1d\"\n[encoder.params]\nsize = \"XL\"", "size"},  // not a choice
    };
    for (const Case& c : cases) {
        const std::string text = replace(kMinimal, c.from, c.to);
        const std::string message = error_of(text, true);
        const std::string plugin = c.from.substr(c.from.find('"'));
        const std::string prefix = loc(text, c.at + " =") + ": plugin '" + plugin.substr(1, plugin.size() - 2) + "': ";
        EXPECT_EQ(message.rfind(prefix, 0), 0u) << message << "\nexpected prefix " << prefix;
        EXPECT_NE(message.find("'" + c.at + "'"), std::string::npos) << message;
    }
}


// [slurm]: shared keys apply to both kinds of array task, [slurm.pretrain]/[slurm.evaluate] override
// them; every malformed value is refused naming its key and section.
TEST(ParseExperiment, SlurmResourcesWithOverridesPerKind) {
    const auto experiment = parse(kMinimal + R"(
[slurm]
shared = "/scratch/lab/run1"
partition = "cpu"
time = "02:00:00"
cpus = 4
mem = "16G"
cells_per_task = 2

[slurm.pretrain]
partition = "gpu"
gpus = 1
time = "1-12:00:00"
)");
    const auto& slurm = experiment.slurm;
    EXPECT_EQ(slurm.shared, "/scratch/lab/run1");
    EXPECT_EQ(slurm.cells_per_task, 2);
    EXPECT_EQ(slurm.pretrain.partition, "gpu");
    EXPECT_EQ(slurm.pretrain.gpus, 1);
    EXPECT_EQ(slurm.pretrain.time, "1-12:00:00");
    EXPECT_EQ(slurm.pretrain.cpus, 4);
    EXPECT_EQ(slurm.pretrain.mem, "16G");
    EXPECT_EQ(slurm.evaluate.partition, "cpu");
    EXPECT_EQ(slurm.evaluate.gpus, 0);
    EXPECT_EQ(slurm.evaluate.time, "02:00:00");
    const auto defaults = parse(kMinimal).slurm;
    EXPECT_EQ(defaults.shared, "");
    EXPECT_EQ(defaults.cells_per_task, 1);
    EXPECT_EQ(defaults.pretrain.cpus, 0);
}

TEST(ParseExperiment, SlurmErrorsNameTheField) {
    const std::string base = kMinimal + "\n[slurm]\n";
    auto message = [&](const std::string& body) { return error_of(base + body); };
    EXPECT_NE(message("time = \"2h\"\n").find("'time' in [slurm] must be a Slurm time limit"), std::string::npos);
    EXPECT_NE(message("mem = \"16 GB\"\n").find("'mem' in [slurm] must be memory per node"), std::string::npos);
    EXPECT_NE(message("cpus = 0\n").find("'cpus' in [slurm] must be >= 1, found 0"), std::string::npos);
    EXPECT_NE(message("partition = \"a b\"\n").find("'partition' in [slurm] must be a partition name"), std::string::npos);
    EXPECT_NE(message("cells_per_task = 0\n").find("'cells_per_task' in [slurm] must be >= 1"), std::string::npos);
    EXPECT_NE(message("gpu = 1\n").find("unknown key 'gpu' in [slurm]"), std::string::npos);
    EXPECT_NE(message("[slurm.evaluate]\ngpus = -1\n").find("'gpus' in [slurm.evaluate] must be >= 0"), std::string::npos);
    EXPECT_NE(message("[slurm.evaluate]\nshared = \"/x\"\n").find("unknown key 'shared' in [slurm.evaluate]"), std::string::npos);
    EXPECT_NE(message("[slurm.eval]\ncpus = 1\n").find("unknown key 'eval' in [slurm]"), std::string::npos);
    const std::string located = base + "time = \"1:2:3:4\"\n";
    EXPECT_EQ(message("time = \"1:2:3:4\"\n").rfind(loc(located, "\"1:2:3:4\""), 0), 0u) << message("time = \"1:2:3:4\"\n");
}

}  // namespace
}  // namespace ecgbench
