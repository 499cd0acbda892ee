// Dataset fingerprints: FNV-1a 64 reference values and parameter normalisation.
#include "ecgbench/fingerprint.hpp"

#include <gtest/gtest.h>

using ecgbench::Fingerprint;
using ecgbench::ParamSpec;
using ecgbench::ParamType;

TEST(Fingerprint, MatchesFnv1aReferenceValues) {
    // Published FNV-1a 64-bit test vectors.
    EXPECT_EQ(Fingerprint().hex(), "cbf29ce484222325");
    EXPECT_EQ(Fingerprint().add("a").hex(), "af63dc4c8601ec8c");
    EXPECT_EQ(Fingerprint().add("foobar").hex(), "85944171f73967e8");
    // Feeding in pieces equals feeding at once.
    EXPECT_EQ(Fingerprint().add("foo").add("bar").value(), Fingerprint().add("foobar").value());
}

TEST(Fingerprint, ParamsHashByValueNotSpelling) {
    const std::vector<ParamSpec> schema{{"rate", ParamType::Float, 100.0, "", {}, {}, {}},
                                        {"leads", ParamType::StringList, std::vector<std::string>{}, "", {}, {}, {}}};
    const auto as_int = ecgbench::validate_params(schema, {{"rate", std::int64_t{250}}});
    const auto as_float = ecgbench::validate_params(schema, {{"rate", 250.0}});
    EXPECT_EQ(Fingerprint().add_params(schema, as_int).hex(), Fingerprint().add_params(schema, as_float).hex());
    const auto other = ecgbench::validate_params(schema, {{"rate", 250.0}, {"leads", std::vector<std::string>{"I"}}});
    EXPECT_NE(Fingerprint().add_params(schema, as_float).hex(), Fingerprint().add_params(schema, other).hex());
}
