// SHA-256 through OpenSSL's EVP digest interface (it picks SHA-NI / AVX2 code at run time).
// Replaces a hand-written FIPS 180-4 implementation: same digests (tests/unit/core/test_sha256.cpp
// checks the NIST vectors), one less piece of cryptographic code to maintain; bench_sha256 has the
// throughput of both (docs/benchmarks.md).
#include "ecgbench/sha256.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace ecgbench {

void Sha256::FreeContext::operator()(evp_md_ctx_st* context) const noexcept { EVP_MD_CTX_free(context); }

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256: OpenSSL could not initialise a digest context");
}

void Sha256::update(const void* data, std::size_t size) {
    if (size > 0 && EVP_DigestUpdate(context_.get(), data, size) != 1)
        throw std::runtime_error("SHA-256: OpenSSL digest update failed");
}

std::string Sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_.get(), digest, &length) != 1 || length != 32)
        throw std::runtime_error("SHA-256: OpenSSL digest finalisation failed");
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (unsigned int i = 0; i < length; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 0xf]);
    }
    return out;
}

std::string sha256_hex(std::string_view text) {
    Sha256 hasher;
    hasher.update(text);
    return hasher.hex_digest();
}

std::string sha256_file(const std::string& path) {
    // A directory opens fine as an ifstream and then reads as empty; refuse it explicitly.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw std::runtime_error("cannot hash '" + path + "': it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
    Sha256 hasher;
    std::vector<char> chunk(1 << 20);
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        hasher.update(chunk.data(), static_cast<std::size_t>(in.gcount()));
    }
    // eof ends the loop normally; anything else is a read error.
    if (in.bad() || !in.eof()) throw std::runtime_error("cannot read '" + path + "'");
    return hasher.hex_digest();
}

}  // namespace ecgbench
