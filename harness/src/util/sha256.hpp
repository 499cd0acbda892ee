// SHA-256 (FIPS 180-4), for cell identities and checkpoint digests. Small and dependency-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ecgbench {

class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    /// Lower-case hex digest; the object must not be updated afterwards.
    std::string hex_digest();

private:
    void compress(const std::uint8_t* block);
    std::uint32_t state_[8];
    std::uint8_t buffer_[64];
    std::size_t buffered_ = 0;
    std::uint64_t total_bytes_ = 0;
};

/// Hex SHA-256 of a string.
std::string sha256_hex(std::string_view text);

/// Hex SHA-256 of a file's bytes, streamed. Throws std::runtime_error naming the file.
std::string sha256_file(const std::string& path);

/// Whether this process hashes with the CPU's SHA instructions (x86 SHA-NI) rather than portable C++.
bool sha256_uses_cpu_instructions();
/// Test hook: hash with the portable code even where the CPU has SHA instructions (process-wide;
/// not thread-safe).
void sha256_force_portable_for_testing(bool portable);

}  // namespace ecgbench
