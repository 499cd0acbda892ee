// Plugin loading: the real plugins load, and each broken library is reported without stopping the others.
#include "registry/registry.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

using ecgbench::PluginKind;
using ecgbench::PluginRegistry;

namespace {
const std::string kCases = ECGBENCH_TEST_PLUGIN_DIR;

bool any_failure_contains(const PluginRegistry& reg, const std::string& text) {
    for (const auto& f : reg.failures())
        if (f.reason.find(text) != std::string::npos) return true;
    return false;
}
}  // namespace

TEST(Registry, LoadsShippedPlugins) {
    PluginRegistry reg;
    reg.load_directory(ECGBENCH_PLUGIN_DIR);
    EXPECT_TRUE(reg.failures().empty()) << reg.failures().front().path << ": " << reg.failures().front().reason;
    for (const char* name : {"synthetic", "resnet1d", "simclr", "supervised", "random_init", "linear_probe"})
        EXPECT_NE(reg.find(name), nullptr) << name;
    EXPECT_EQ(reg.require("resnet1d", PluginKind::Encoder).manifest().kind, PluginKind::Encoder);
}

TEST(Registry, MissingSymbolIsReportedNotThrown) {
    PluginRegistry reg;
    reg.load_directory(kCases + "/missing_symbol");
    ASSERT_EQ(reg.failures().size(), 1u);
    EXPECT_TRUE(any_failure_contains(reg, "missing symbol"));
    EXPECT_TRUE(reg.plugins().empty());
}

TEST(Registry, AbiMismatchIsRefused) {
    PluginRegistry reg;
    reg.load_directory(kCases + "/abi_mismatch");
    ASSERT_EQ(reg.failures().size(), 1u);
    EXPECT_TRUE(any_failure_contains(reg, "ABI version mismatch: plugin built against 999"));
}

TEST(Registry, DuplicateNameKeepsFirstAndReportsSecond) {
    PluginRegistry reg;
    reg.load_directory(kCases + "/duplicate_a");
    reg.load_directory(kCases + "/duplicate_b");
    EXPECT_EQ(reg.plugins().size(), 1u);
    ASSERT_EQ(reg.failures().size(), 1u);
    EXPECT_TRUE(any_failure_contains(reg, "duplicate plugin name 'duplicate_task'"));
    EXPECT_NE(reg.failures().front().reason.find("duplicate_a"), std::string::npos);
}

TEST(Registry, BrokenLibrariesDoNotHideGoodOnes) {
    PluginRegistry reg;
    reg.load_directory(kCases + "/missing_symbol");
    reg.load_directory(kCases + "/throwing_task");
    reg.load_directory(kCases + "/abi_mismatch");
    EXPECT_EQ(reg.failures().size(), 2u);
    EXPECT_NE(reg.find("throwing_task"), nullptr);
}

TEST(Registry, SameFileTwiceLoadsOnce) {
    PluginRegistry reg;
    reg.load_directory(kCases + "/throwing_task");
    reg.load_directory(kCases + "/throwing_task/.");
    EXPECT_EQ(reg.plugins().size(), 1u);
    EXPECT_TRUE(reg.failures().empty());
}

TEST(Registry, UnknownPluginSuggestsClosest) {
    PluginRegistry reg;
    reg.load_directory(ECGBENCH_PLUGIN_DIR);
    try {
        reg.require("simclear", PluginKind::Ssl);
        FAIL() << "expected an error";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("did you mean 'simclr'"), std::string::npos) << e.what();
    }
    try {
        reg.require("resnet1d", PluginKind::Dataset);
        FAIL() << "expected an error";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("is an encoder plugin, not a dataset plugin"), std::string::npos) << e.what();
    }
}

TEST(Registry, MissingDirectoryIsNotAnError) {
    PluginRegistry reg;
    reg.load_directory("/nonexistent/ecgbench/plugins");
    EXPECT_TRUE(reg.failures().empty());
}

TEST(Registry, ReadmeExamplePluginWorks) {
    PluginRegistry reg;
    reg.load_directory(kCases + "/readme_tinycnn");
    ASSERT_TRUE(reg.failures().empty()) << reg.failures().front().reason;
    const auto& plugin = reg.require("tinycnn", PluginKind::Encoder);
    const auto params = ecgbench::validate_params(plugin.manifest().params, {{"width", std::int64_t{8}}});
    auto encoder = reg.make_encoder("tinycnn", params, {12, 500, 100.0, {}});
    const auto out = encoder->forward(torch::randn({3, 12, 500}));
    EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{3, 8}));
    EXPECT_EQ(encoder->embedding_dim(), 8);
}

TEST(Registry, PluginBuiltAgainstAnotherLibTorchIsRefusedBeforeItsDescriptors) {
    PluginRegistry reg;
    reg.load_directory(kCases + "/build_mismatch");  // its descriptor function would abort()
    ASSERT_EQ(reg.failures().size(), 1u);
    EXPECT_TRUE(any_failure_contains(reg, "built against another toolchain: plugin 'libtorch 2.9.0"));
    EXPECT_TRUE(any_failure_contains(reg, ecgbench::host_build_signature()));
    EXPECT_TRUE(reg.plugins().empty());
}

TEST(Registry, OneLibraryMayRegisterSeveralPlugins) {
    PluginRegistry reg;
    reg.load_directory(kCases + "/method_and_task");
    ASSERT_TRUE(reg.failures().empty()) << reg.failures().front().reason;
    ASSERT_EQ(reg.plugins().size(), 2u);
    EXPECT_EQ(reg.require("tower_method", PluginKind::Ssl).path, reg.require("tower_task", PluginKind::Task).path);
    EXPECT_EQ(reg.require("tower_task", PluginKind::Task).manifest().needs, std::vector<std::string>{"tower"});
}
