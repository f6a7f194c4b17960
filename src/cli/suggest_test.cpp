// Tests of the edit distance, the did-you-mean choice and the hints by error kind.
#include "cli/suggest.hpp"

#include <gtest/gtest.h>

#include "cli/hints.hpp"

namespace coco::cli {
namespace {

TEST(EditDistance, CountsSwapsAsOneEdit) {
  EXPECT_EQ(editDistance("", ""), 0u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("list", "list"), 0u);
  EXPECT_EQ(editDistance("lsit", "list"), 1u);     // a swap
  EXPECT_EQ(editDistance("eslnt", "eslint"), 1u);  // a deletion
  EXPECT_EQ(editDistance("eslintt", "eslint"), 1u);
  EXPECT_EQ(editDistance("esilnt", "eslint"), 1u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("ca", "abc"), 3u);  // optimal string alignment: no edit of a swapped pair
}

TEST(Closest, RefusesFarAndEmptyWords) {
  std::vector<std::string> commands = {"run",  "list",   "show",  "get",  "up",
                                       "down", "images", "image", "store"};
  EXPECT_TRUE(closest("", commands).empty());
  EXPECT_TRUE(closest("frobnicate", commands).empty());
  EXPECT_TRUE(closest("xyz", commands).empty());
  EXPECT_TRUE(closest("list", commands).empty());  // an exact name is no suggestion
  EXPECT_TRUE(closest("ls", commands).empty());    // two edits from "up" and "list": too far for 2 letters
  EXPECT_TRUE(closest("lsit", {}).empty());
  EXPECT_EQ(closest("lsit", commands), (std::vector<std::string>{"list"}));
  EXPECT_EQ(closest("imgaes", commands), (std::vector<std::string>{"images"}));
  // Ties all come, sorted, each once; a nearer one beats them.
  EXPECT_EQ(closest("imag", {"image", "imago", "image"}), (std::vector<std::string>{"image", "imago"}));
  EXPECT_EQ(closest("rnu", commands), (std::vector<std::string>{"run"}));
  EXPECT_EQ(closest("prettir", {"prettier", "pretty-printer"}), (std::vector<std::string>{"prettier"}));
}

TEST(DidYouMean, Wording) {
  EXPECT_EQ(didYouMean({}), "");
  EXPECT_EQ(didYouMean({"list"}), "did you mean 'list'?");
  EXPECT_EQ(didYouMean({"a", "b"}), "did you mean 'a' or 'b'?");
  EXPECT_EQ(didYouMean({"a", "b", "c"}), "did you mean 'a', 'b' or 'c'?");
}

Error kinded(ErrorKind kind, const std::string& subject) { return Error::make("x").withKind(kind, subject); }

TEST(HintFor, NotConfiguredSuggestsOnlyWhatExists) {
  HintSources s{{"eslint", "prettier"}, {"ruff", "eslint", "prettier"}, false};
  // A configured tool close to it.
  EXPECT_EQ(hintFor(kinded(ErrorKind::NotConfigured, "eslnt"), s),
            "did you mean 'eslint'? ('coco list' shows the configured tools)");
  // Not configured, but the store has exactly it.
  EXPECT_EQ(hintFor(kinded(ErrorKind::NotConfigured, "ruff"), s),
            "'coco get ruff' copies its config from the store");
  // Neither: never "coco get NAME" for a name the store does not have.
  std::string none = hintFor(kinded(ErrorKind::NotConfigured, "nosuchtool"), s);
  EXPECT_EQ(none.find("coco get nosuchtool"), std::string::npos) << none;
  EXPECT_NE(none.find("coco store"), std::string::npos) << none;
  // Close to a store name only.
  EXPECT_NE(hintFor(kinded(ErrorKind::NotConfigured, "rufff"), s).find("'ruff'"), std::string::npos);
}

TEST(HintFor, StoreMissSuggestsOrListsTheStore) {
  HintSources s{{}, {"eslint", "prettier", "ruff"}, false};
  EXPECT_EQ(hintFor(kinded(ErrorKind::StoreMiss, "eslnt"), s), "did you mean 'eslint'?");
  EXPECT_EQ(hintFor(kinded(ErrorKind::StoreMiss, "nosuch"), s),
            "the store has: eslint, prettier, ruff ('coco store' describes them)");
  HintSources big;
  for (int i = 0; i < 100; ++i) big.store.push_back("tool" + std::to_string(i * 1000));
  EXPECT_EQ(hintFor(kinded(ErrorKind::StoreMiss, "nosuch"), big),
            "the store has 100 configs; 'coco store' lists them");
  EXPECT_EQ(hintFor(kinded(ErrorKind::StoreMiss, "x"), HintSources{}), "the store is empty");
  HintSources remote{{}, {}, true};
  EXPECT_NE(hintFor(kinded(ErrorKind::StoreMiss, "x"), remote).find("coco store"), std::string::npos);
}

TEST(HintFor, VariablesAndFilesAreNamed) {
  HintSources s;
  std::string env = hintFor(kinded(ErrorKind::EnvVar, "COCO_EXTRA_PORTS"), s);
  EXPECT_NE(env.find("COCO_EXTRA_PORTS is set in your environment"), std::string::npos) << env;
  EXPECT_EQ(hintFor(kinded(ErrorKind::ConfigFile, "/t/eslint.json"), s),
            "the error is in /t/eslint.json: fix it there");
  EXPECT_EQ(hintFor(kinded(ErrorKind::Other, "x"), s), "");
  EXPECT_EQ(hintFor(kinded(ErrorKind::Exists, "x"), s), "");
  EXPECT_EQ(hintFor(Error::make("plain"), s), "");
}

}  // namespace
}  // namespace coco::cli
