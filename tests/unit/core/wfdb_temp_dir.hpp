// A fresh directory under the system temp folder, removed with everything in it at scope exit;
// shared by the WFDB test files.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <unistd.h>

namespace ecgbench::wfdb {

class TempDir {
public:
    TempDir() {
        path_ = std::filesystem::temp_directory_path() /
                ("ecgbench-wfdb-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    static inline int counter_ = 0;
    std::filesystem::path path_;
};

}  // namespace ecgbench::wfdb
