// Edit distance, "did you mean" suggestions and join.
#include "util/text.hpp"

#include <gtest/gtest.h>

namespace ecgbench {
namespace {

TEST(Levenshtein, KnownDistances) {
    EXPECT_EQ(levenshtein("kitten", "sitting"), 3u);
    EXPECT_EQ(levenshtein("flaw", "lawn"), 2u);
    EXPECT_EQ(levenshtein("", "abc"), 3u);
    EXPECT_EQ(levenshtein("abc", ""), 3u);
    EXPECT_EQ(levenshtein("", ""), 0u);
    EXPECT_EQ(levenshtein("same", "same"), 0u);
    EXPECT_EQ(levenshtein("epoch", "epochs"), 1u);
    EXPECT_EQ(levenshtein("synthetc", "synthetic"), 1u);
    EXPECT_EQ(levenshtein("ab", "ba"), 2u);  // a transposition is two edits in plain Levenshtein
}

TEST(Levenshtein, CaseSensitiveAndSymmetric) {
    EXPECT_EQ(levenshtein("a", "A"), 1u);
    EXPECT_EQ(levenshtein("resnet1d", "ResNet1D"), 3u);
    EXPECT_EQ(levenshtein("simclr", "byol"), levenshtein("byol", "simclr"));
}

TEST(DidYouMean, SuggestsClosestCandidate) {
    const std::vector<std::string> keys = {"datasets", "seeds", "epochs", "batch_size", "max_steps",
                                           "learning_rate", "weight_decay", "device"};
    EXPECT_EQ(did_you_mean("epoch", keys), " (did you mean 'epochs'?)");
    EXPECT_EQ(did_you_mean("seed", keys), " (did you mean 'seeds'?)");
    EXPECT_EQ(did_you_mean("learning_rat", keys), " (did you mean 'learning_rate'?)");
    EXPECT_EQ(did_you_mean("batchsize", keys), " (did you mean 'batch_size'?)");
    EXPECT_EQ(did_you_mean("synthetc", {"ptbxl", "synthetic", "mitbih"}), " (did you mean 'synthetic'?)");
}

TEST(DidYouMean, CaseInsensitiveComparisonKeepsCandidateSpelling) {
    EXPECT_EQ(did_you_mean("EPOCHS", {"epochs"}), " (did you mean 'epochs'?)");
    EXPECT_EQ(did_you_mean("resnet1D", {"ResNet1d"}), " (did you mean 'ResNet1d'?)");
}

TEST(DidYouMean, NothingCloseGivesEmpty) {
    EXPECT_EQ(did_you_mean("temperature", {"epochs", "seeds"}), "");
    EXPECT_EQ(did_you_mean("anything", {}), "");
    // A one-letter word is one edit from every other one-letter word: no suggestion.
    EXPECT_EQ(did_you_mean("x", {"y"}), "");
    EXPECT_EQ(did_you_mean("ab", {"xy"}), "");
    // The word itself is not a suggestion.
    EXPECT_EQ(did_you_mean("epochs", {"epochs"}), "");
}

TEST(DidYouMean, PrefersSmallerDistanceThenFirstListed) {
    EXPECT_EQ(did_you_mean("simclr", {"simclr2x", "simclrx"}), " (did you mean 'simclrx'?)");
    EXPECT_EQ(did_you_mean("cat", {"bat", "hat"}), " (did you mean 'bat'?)");
    EXPECT_EQ(did_you_mean("cat", {"hat", "bat"}), " (did you mean 'hat'?)");
}

TEST(Join, Separators) {
    EXPECT_EQ(join({}, ", "), "");
    EXPECT_EQ(join({"a"}, ", "), "a");
    EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
    EXPECT_EQ(join({"x", "y"}, ""), "xy");
}

}  // namespace
}  // namespace ecgbench
