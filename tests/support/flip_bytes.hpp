// Damages a file the way bit rot or a torn copy would, keeping its size: for the integrity tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace test_support {

/// Overwrites `count` bytes at `offset` with their complement, keeping the file's size.
inline void flip_bytes(const std::filesystem::path& file, std::uintmax_t offset, std::size_t count) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes(count, '\0');
    f.seekg(static_cast<std::streamoff>(offset));
    f.read(bytes.data(), static_cast<std::streamsize>(count));
    for (auto& c : bytes) c = static_cast<char>(~c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(count));
}

}  // namespace test_support
