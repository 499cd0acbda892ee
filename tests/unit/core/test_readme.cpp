// The plugin guide's examples (docs/plugins.md, linked from the README) are the files in
// tests/plugins/readme_*.cpp, verbatim: the tests build and run those files, and this test keeps the
// guide's text identical to them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace {

std::string read(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// The example as the guide shows it: from its first `// plugins/…` or `#include` line on.
std::string example_text(const std::string& source) {
    std::istringstream in(source);
    std::string line, out;
    bool started = false;
    while (std::getline(in, line)) {
        started = started || line.rfind("// plugins/", 0) == 0 || line.rfind("#include", 0) == 0;
        if (started) out += line + "\n";
    }
    return out;
}

TEST(Readme, PluginExamplesAreTheTestedFilesVerbatim) {
    const std::string readme = read(std::string(ECGBENCH_SOURCE_DIR) + "/docs/plugins.md");
    ASSERT_FALSE(readme.empty());
    int examples = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::string(ECGBENCH_SOURCE_DIR) + "/tests/plugins")) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("readme_", 0) != 0) continue;
        ++examples;
        const std::string text = example_text(read(entry.path().string()));
        ASSERT_FALSE(text.empty()) << name;
        EXPECT_NE(readme.find("```cpp\n" + text + "```"), std::string::npos)
            << name << " differs from docs/plugins.md's code block (copy it there verbatim)";
    }
    EXPECT_EQ(examples, 3);
}

}  // namespace
