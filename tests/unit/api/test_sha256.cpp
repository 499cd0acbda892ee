// SHA-256 against the FIPS 180-4 / NIST example vectors, padding boundaries and streaming.
#include "ecgbench/sha256.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <random>
#include <string>
#include <vector>
#include <unistd.h>

namespace ecgbench {
namespace {

TEST(Sha256, EmptyString) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Abc) {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage448Bits) {
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, Message896Bits) {
    EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopq"
                         "rstnopqrstu"),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, OneMillionA) {
    EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
    // Lengths where the length field just fits, just does not fit, and exact multiples of a block.
    const std::pair<std::size_t, const char*> cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    };
    for (const auto& [length, digest] : cases) EXPECT_EQ(sha256_hex(std::string(length, 'a')), digest) << length;
}

TEST(Sha256, AllByteValues) {
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
    EXPECT_EQ(sha256_hex(bytes), "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880");
}

TEST(Sha256, SplitUpdatesEqualOneShot) {
    std::string message;
    for (int i = 0; i < 300; ++i) message.push_back(static_cast<char>('a' + (i * 7) % 26));
    const std::string expected = sha256_hex(message);
    // Every split point, including those inside and at the edges of the internal block buffer.
    for (std::size_t split = 0; split <= message.size(); ++split) {
        Sha256 hasher;
        hasher.update(std::string_view(message).substr(0, split));
        hasher.update(std::string_view(message).substr(split));
        ASSERT_EQ(hasher.hex_digest(), expected) << "split at " << split;
    }
    Sha256 bytewise;
    for (char c : message) bytewise.update(&c, 1);
    EXPECT_EQ(bytewise.hex_digest(), expected);

    Sha256 million;
    const std::string chunk(1000, 'a');
    for (int i = 0; i < 1000; ++i) million.update(chunk);
    EXPECT_EQ(million.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, RandomPiecesEqualOneShot) {
    // Messages of every length up to several blocks, and a long one fed in odd pieces (OpenSSL
    // buffers partial blocks itself; this pins that streaming and one-shot agree).
    std::mt19937 random(7);
    std::string message(100000, '\0');
    for (auto& c : message) c = static_cast<char>(random());
    for (std::size_t length = 0; length <= 300; ++length) {
        const std::string_view prefix = std::string_view(message).substr(0, length);
        Sha256 halves;
        halves.update(prefix.substr(0, length / 2));
        halves.update(prefix.substr(length / 2));
        ASSERT_EQ(halves.hex_digest(), sha256_hex(prefix)) << length;
    }
    Sha256 pieces;
    for (std::size_t at = 0; at < message.size();) {
        const std::size_t take = std::min<std::size_t>(message.size() - at, 1 + random() % 700);
        pieces.update(message.data() + at, take);
        at += take;
    }
    EXPECT_EQ(pieces.hex_digest(), sha256_hex(message));
}

class Sha256File : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("ecgbench_sha256_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& content) {
        const auto path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path.string();
    }
    std::filesystem::path dir_;
};

TEST_F(Sha256File, MatchesStringDigest) {
    EXPECT_EQ(sha256_file(write("abc.bin", "abc")), sha256_hex("abc"));
    EXPECT_EQ(sha256_file(write("empty.bin", "")), sha256_hex(""));
    // Larger than the streaming chunk, so several reads are stitched together.
    std::string big(200000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 % 251);
    EXPECT_EQ(sha256_file(write("big.bin", big)), sha256_hex(big));
}

TEST_F(Sha256File, MissingFileThrowsNamingIt) {
    const std::string path = (dir_ / "does-not-exist.bin").string();
    try {
        (void)sha256_file(path);
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    }
}

TEST_F(Sha256File, DirectoryThrows) { EXPECT_THROW((void)sha256_file(dir_.string()), std::runtime_error); }

}  // namespace
}  // namespace ecgbench
