// `ecgbench new-plugin` skeletons build and run as written, against an installed ecgbench: install
// the build into a temporary prefix, let the installed host write one skeleton of each kind — two
// as in-tree plugin folders (plugins/<kind>/NAME/, in a stand-in checkout), two as standalone
// projects (--out) — build all four in one CMake project (one configure, -j 2), and let CTest run
// each skeleton's own test: its tiny experiment through the installed `ecgbench run`.
// Also checks the install tree's bash completion script.
#include "support/command.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace fs = std::filesystem;

namespace {

const auto run = test_support::run_command;

std::string read(const fs::path& file) {
    std::ifstream in(file);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(NewPlugin, EachKindsSkeletonBuildsAgainstTheInstalledPackageAndPassesItsTest) {
    const fs::path dir = fs::temp_directory_path() / ("ecgbench-skeletons-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir);
    const fs::path prefix = dir / "prefix";
    const auto install = run("cmake --install " + std::string(ECGBENCH_BINARY_DIR) + " --prefix " + prefix.string());
    ASSERT_EQ(install.exit_code, 0) << install.output;
    const std::string host = (prefix / "bin/ecgbench").string();

    // The installed completion script knows every subcommand.
    const std::string completion = read(prefix / "share/bash-completion/completions/ecgbench");
    for (const char* command : {"plugins", "plan", "run", "status", "report", "export", "verify", "synth", "wfdb",
                                "new-plugin", "completion"})
        EXPECT_NE(completion.find(std::string("'") + command + "')"), std::string::npos) << command;
    EXPECT_NE(completion.find("complete -o filenames -F _ecgbench ecgbench"), std::string::npos);

    // A stand-in checkout for the in-tree skeletons (new-plugin looks for these two files).
    const fs::path checkout = dir / "checkout";
    fs::create_directories(checkout / "harness/include/ecgbench");
    fs::create_directories(checkout / "plugins");
    std::ofstream(checkout / "plugins/CMakeLists.txt") << "";
    std::ofstream(checkout / "harness/include/ecgbench/plugin.hpp") << "";
    for (const char* kind : {"encoder", "ssl"}) {
        const auto made = run("cd " + checkout.string() + " && " + host + " new-plugin " + kind + " skel_" + kind);
        ASSERT_EQ(made.exit_code, 0) << made.output;
    }
    for (const char* kind : {"dataset", "task"}) {
        const auto made = run(host + " new-plugin " + kind + " skel_" + kind + " --out " + (dir / kind).string());
        ASSERT_EQ(made.exit_code, 0) << made.output;
        EXPECT_NE(made.output.find("-DCMAKE_PREFIX_PATH=" + fs::canonical(prefix).string()), std::string::npos) << made.output;
    }

    // One project holding all four: one configure, one parallel build.
    std::ofstream(dir / "CMakeLists.txt") << "cmake_minimum_required(VERSION 3.25)\n"
                                             "project(skeletons LANGUAGES CXX)\n"
                                             "find_package(ecgbench REQUIRED)\n"
                                             "enable_testing()\n"
                                             "add_subdirectory(" << (checkout / "plugins/encoders/skel_encoder").string() << " encoder)\n"
                                             "add_subdirectory(" << (checkout / "plugins/ssl/skel_ssl").string() << " ssl)\n"
                                             "add_subdirectory(dataset)\n"
                                             "add_subdirectory(task)\n";
    const std::string build = (dir / "build").string();
    const auto configure = run("cmake -S " + dir.string() + " -B " + build + " -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" +
                               prefix.string() + " -DCMAKE_CXX_COMPILER_LAUNCHER=ccache '-DCMAKE_CXX_FLAGS=-Wall -Wextra'");
    ASSERT_EQ(configure.exit_code, 0) << configure.output;
    const auto compile = run("cmake --build " + build + " -j 2");
    ASSERT_EQ(compile.exit_code, 0) << compile.output;
    EXPECT_EQ(compile.output.find("warning:"), std::string::npos) << compile.output;

    const auto tests = run("ctest --test-dir " + build + " -j 2 --output-on-failure");
    ASSERT_EQ(tests.exit_code, 0) << tests.output;
    for (const char* name : {"plugin.skel_encoder.experiment", "plugin.skel_ssl.experiment", "skel_dataset.experiment",
                             "skel_task.experiment"})
        EXPECT_NE(tests.output.find(name), std::string::npos) << name << "\n" << tests.output;
    EXPECT_NE(tests.output.find("100% tests passed, 0 tests failed out of 4"), std::string::npos) << tests.output;
    fs::remove_all(dir);
}

}  // namespace
