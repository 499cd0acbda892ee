// SHA-256 (FIPS 180-4): cell identities, artifact and cache-shard digests, and what plugins pin by
// content (e.g. a tokenizer model). Computed by OpenSSL's libcrypto (EVP interface), which uses the
// CPU's SHA instructions where it has them; its headers stay out of this one.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace ecgbench {

/// Incremental SHA-256: update() any number of times, then hex_digest() once.
class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    /// Lower-case hex digest; the object must not be updated afterwards.
    std::string hex_digest();

private:
    struct FreeContext {
        void operator()(evp_md_ctx_st* context) const noexcept;
    };
    std::unique_ptr<evp_md_ctx_st, FreeContext> context_;
};

/// Hex SHA-256 of a string.
std::string sha256_hex(std::string_view text);

/// Hex SHA-256 of a file's bytes, streamed. Throws std::runtime_error naming the file.
std::string sha256_file(const std::string& path);

}  // namespace ecgbench
