// The canonical JSON that cell identities and cache-shard keys hash: its bytes are pinned here as
// the hand-written writer produced them before JSON values moved to nlohmann-json, on the cases
// where nlohmann's own dump differs (also pinned, so a library update that changes either shows).
#include "util/json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace ecgbench {
namespace {

TEST(CanonicalJson, NumbersInShortestRoundTripForm) {
    const std::pair<double, const char*> cases[] = {
        {1.0, "1"},         {500.0, "500"},       {0.5, "0.5"},       {0.001, "0.001"},
        {1e-4, "1e-04"},    {1e-05, "1e-05"},     {2.5e-7, "2.5e-07"}, {100000.0, "1e+05"},
        {123456.0, "123456"}, {1e16, "1e+16"},    {1e+300, "1e+300"}, {12345678901234567.0, "12345678901234568"},
        {-0.0, "0"},        {-1.25, "-1.25"},
    };
    for (const auto& [value, text] : cases) EXPECT_EQ(canonical_json(value), text) << text;
    EXPECT_EQ(canonical_json(std::int64_t{-3}), "-3");
    EXPECT_EQ(canonical_json(std::size_t{18446744073709551615u}), "18446744073709551615");
    EXPECT_THROW(canonical_json(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
    EXPECT_THROW(canonical_json(std::numeric_limits<double>::infinity()), std::invalid_argument);
}

TEST(CanonicalJson, StringsObjectsAndArrays) {
    const Json value{{"z", "a\"b\\c\n\r\t\b\f\x01\x1f\x7f é"}, {"a", std::int64_t{-3}}, {"B", {"x", "y"}}, {"e", Json::object()},
                     {"n", nullptr}, {"t", true}};
    EXPECT_EQ(canonical_json(value),
              R"({"B":["x","y"],"a":-3,"e":{},"n":null,"t":true,"z":"a\"b\\c\n\r\t\u0008\u000c\u0001\u001f)" "\x7f" R"( é"})");
}

TEST(CanonicalJson, DiffersFromLibraryDumpWhereItMustNot) {
    // Why canonical_json exists: nlohmann's dump writes these differently, which would change the
    // hash of every cell holding such a value.
    EXPECT_EQ(Json(500.0).dump(), "500.0");
    EXPECT_EQ(Json(1e-4).dump(), "0.0001");
    EXPECT_EQ(Json(-0.0).dump(), "-0.0");
    EXPECT_EQ(Json("\b").dump(), R"("\b")");
    // Documents for people and tools use the library, with invalid UTF-8 replaced, not thrown on.
    EXPECT_EQ(json_text({{"k", "\xff"}}), "{\"k\":\"\xef\xbf\xbd\"}");
}

TEST(CanonicalJson, ParamsKeepTheirTypes) {
    Params params(std::map<std::string, ParamValue>{{"b", true}, {"i", std::int64_t{3}}, {"d", 3.0}, {"s", std::string("x")},
                                                    {"l", std::vector<std::string>{"p", "q"}}});
    EXPECT_EQ(canonical_json(json_params(params)), R"({"b":true,"d":3,"i":3,"l":["p","q"],"s":"x"})");
}

}  // namespace
}  // namespace ecgbench
