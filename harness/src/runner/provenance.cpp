#include "runner/provenance.hpp"

#include "util/json.hpp"

#include <sqlite3.h>
#include <torch/version.h>
#include <unistd.h>
#include <ATen/Parallel.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <cstdio>
#include <memory>

namespace ecgbench {

namespace {

// The commit of the ecgbench checkout this binary was built from, "+dirty" when it has local
// changes; "unknown" outside a git checkout (e.g. an installed copy).
std::string git_commit() {
    static const std::string commit = [] {
        const std::string cmd = std::string("git -C '") + ECGBENCH_SOURCE_DIR +
                                "' describe --always --dirty=+dirty --abbrev=40 2>/dev/null";
        std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
        if (!pipe) return std::string("unknown");
        std::array<char, 128> buffer{};
        std::string out;
        while (fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
        return out.empty() ? std::string("unknown") : out;
    }();
    return commit;
}

std::string hostname() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "unknown";
    return name;
}

// String pairs as a JSON object.
std::string string_object(const std::map<std::string, std::string>& fields) { return json_text(Json(fields)); }

/// The CPU model and the ISA extensions that change numerics or speed (results move with BLAS
/// kernels, which depend on them): "Intel(R) Xeon(R) ... | avx2 fma avx512f avx512_bf16".
std::string cpu_description() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line, model = "unknown", flags;
    const std::set<std::string> relevant = {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx512_fp16",
                                            "amx_bf16", "amx_tile", "asimd", "sve"};
    while (std::getline(cpuinfo, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
        const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        if (key == "model name" && model == "unknown") model = value;
        if ((key == "flags" || key == "Features") && flags.empty()) {
            std::istringstream in(value);
            std::string flag;
            while (in >> flag)
                if (relevant.count(flag)) flags += (flags.empty() ? "" : " ") + flag;
        }
        if (model != "unknown" && !flags.empty()) break;
    }
    return model + " | " + flags;
}

}  // namespace

// LibTorch calls the system BLAS; the reference BLAS is ~40x slower on matrix products than
// OpenBLAS and rounds differently, so which one is mapped matters.
std::string blas_library() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        const auto slash = line.find('/');
        if (slash == std::string::npos) continue;
        const std::string path = line.substr(slash);
        const std::string name = std::filesystem::path(path).filename().string();
        if (name.find("blas") != std::string::npos || name.find("mkl_rt") != std::string::npos) {
            std::error_code ec;
            const auto real = std::filesystem::canonical(path, ec);
            return ec ? path : real.string();
        }
    }
    return "none mapped";
}

RunProvenance current_provenance(const std::map<std::string, std::string>& plugin_versions) {
    RunProvenance p;
    p.host = hostname();
    p.pid = static_cast<std::int64_t>(getpid());
    p.git_commit = git_commit();
    p.library_versions = string_object({
        {"ecgbench", ECGBENCH_VERSION},
        {"libtorch", TORCH_VERSION},
        {"sqlite", sqlite3_libversion()},
        {"compiler", __VERSION__},
        {"torch_threads", std::to_string(at::get_num_threads())},
        {"cpu", cpu_description()},
        {"blas", blas_library()},
    });
    p.plugin_versions = string_object(plugin_versions);
    p.extra = "{}";
    return p;
}

}  // namespace ecgbench
