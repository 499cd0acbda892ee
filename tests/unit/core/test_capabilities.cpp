// Capability checks (config/capabilities): what plugins need against what the matrix provides.
#include "config/capabilities.hpp"

#include <gtest/gtest.h>

namespace ecgbench {
namespace {

const std::string kText = R"([experiment]
name = "caps"

[[dataset]]
name = "with-text"
plugin = "ds"

[[dataset]]
name = "bare"
plugin = "ds"

[[encoder]]
plugin = "cnn"

[[ssl]]
plugin = "textual"

[pretrain]
datasets = ["with-text"]

[[evaluation]]
task = "zero_shot"
datasets = ["bare"]
)";

std::vector<PluginManifest> manifests(std::vector<std::string> ssl_provides = {"text_tower"}) {
    return {{"ds", PluginKind::Dataset, "1", "", {}},
            {"cnn", PluginKind::Encoder, "1", "", {}},
            {"textual", PluginKind::Ssl, "1", "", {}, {"texts", "covariate:age"}, std::move(ssl_provides)},
            {"zero_shot", PluginKind::Task, "1", "", {}, {"text_tower", "class_descriptions"}, {}}};
}

DatasetInfo info(bool texts, std::vector<std::string> covariates, bool descriptions) {
    DatasetInfo i;
    i.classes = {"AF"};
    i.has_texts = texts;
    i.covariates = std::move(covariates);
    if (descriptions) i.class_descriptions["AF"] = "atrial fibrillation";
    return i;
}

std::string refusal(const std::vector<DatasetInfo>& infos, const std::vector<PluginManifest>& available = manifests()) {
    Experiment e = parse_experiment_text(kText, "caps.toml");
    validate_experiment(e, available);
    try {
        check_capabilities(e, infos, available);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

TEST(Capabilities, DatasetsProvideWhatTheyDeclare) {
    EXPECT_EQ(dataset_capabilities(info(true, {"age"}, true)),
              (std::vector<std::string>{"labels", "texts", "class_descriptions", "covariate:age"}));
    EXPECT_TRUE(dataset_capabilities(DatasetInfo{}).empty());
}

TEST(Capabilities, SatisfiedMatrixPasses) {
    EXPECT_EQ(refusal({info(true, {"age", "sex"}, false), info(false, {}, true)}), "");
}

TEST(Capabilities, MissingTextsRefuseThePretrainingAtTheMethodsLine) {
    const auto message = refusal({info(false, {"age"}, false), info(false, {}, true)});
    EXPECT_NE(message.find("caps.toml:16:1"), std::string::npos) << message;
    EXPECT_NE(message.find("SSL method 'textual' (plugin 'textual') needs 'texts', which pretraining dataset 'with-text'"),
              std::string::npos) << message;
}

TEST(Capabilities, MissingCovariateIsNamed) {
    const auto message = refusal({info(true, {"sex"}, false), info(false, {}, true)});
    EXPECT_NE(message.find("needs 'covariate:age'"), std::string::npos) << message;
    EXPECT_NE(message.find("available: covariate:sex, labels, text_tower, texts"), std::string::npos) << message;
}

TEST(Capabilities, TaskNeedsAreCheckedAgainstTheEvaluationDatasetAndTheMethod) {
    // The evaluation dataset lacks class descriptions.
    auto message = refusal({info(true, {"age"}, false), info(false, {}, false)});
    EXPECT_NE(message.find("evaluation 'zero_shot' (plugin 'zero_shot') needs 'class_descriptions', which evaluation dataset 'bare'"),
              std::string::npos) << message;
    // The method no longer provides a text tower.
    message = refusal({info(true, {"age"}, false), info(false, {}, true)}, manifests({}));
    EXPECT_NE(message.find("needs 'text_tower'"), std::string::npos) << message;
}

}  // namespace
}  // namespace ecgbench
