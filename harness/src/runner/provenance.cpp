#include "runner/provenance.hpp"

#include "util/json.hpp"

#include <sqlite3.h>
#include <torch/version.h>
#include <unistd.h>
#include <ATen/Parallel.h>

#include <array>
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
std::string string_object(const std::map<std::string, std::string>& fields) {
    JsonObject object;
    for (const auto& [key, value] : fields) object[key] = json_string(value);
    return json_object(object);
}

}  // namespace

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
    });
    p.plugin_versions = string_object(plugin_versions);
    p.extra = "{}";
    return p;
}

}  // namespace ecgbench
