// Unit tests: apt source parsers (one-line, deb822) and the Debian mirror the bootstrap takes from the host's sources.
#include "image/apt_sources.hpp"

#include <gtest/gtest.h>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::image {
namespace {

// Invented names only: the tests must not spell a real mirror.
TEST(AptSources, OneLineFormat) {
  auto uris = aptUrisFromList(
      "# deb http://commented.example.test/ x main\n"
      "deb http://one.example.test/debian bookworm main\n"
      "deb [arch=amd64 signed-by=/k.gpg] https://two.example.test:8443/d trixie main # tail\n"
      "deb-src http://three.example.test/debian bookworm main\n"
      "deb file:/srv/local ./\n"
      "deb [broken http://four.example.test/ x\n"
      "debian http://not-a-line.example.test/\n");
  EXPECT_EQ(uris, (std::vector<std::string>{"http://one.example.test/debian", "https://two.example.test:8443/d",
                                            "http://three.example.test/debian"}));
}

TEST(AptSources, Deb822SkipsDisabledStanzas) {
  auto uris = aptUrisFromDeb822(
      "Types: deb\n"
      "URIs: http://one.example.test/debian http://two.example.test/debian\n"
      "Suites: trixie trixie-updates\n"
      "Components: main\n"
      "\n"
      "# a comment\n"
      "Types: deb\n"
      "Enabled: no\n"
      "URIs: http://disabled.example.test/debian\n"
      "\n"
      "Types: deb\n"
      "uris: https://three.example.test/sec\n"
      "Signed-By:\n"
      " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
      " URIs: http://inside-key.example.test/\n");
  EXPECT_EQ(uris, (std::vector<std::string>{"http://one.example.test/debian", "http://two.example.test/debian",
                                            "https://three.example.test/sec"}));
}

TEST(AptSources, FilesByName) {
  EXPECT_TRUE(isAptSourcesFile("debian.sources"));
  EXPECT_TRUE(isAptSourcesFile("extra.list"));
  EXPECT_FALSE(isAptSourcesFile(".list"));
  EXPECT_FALSE(isAptSourcesFile("notes.txt"));
  EXPECT_FALSE(isAptSourcesFile("old.list.save"));
  EXPECT_EQ(aptUrisOfFile("a.list", "deb http://l.example.test/debian x main\n"),
            (std::vector<std::string>{"http://l.example.test/debian"}));
  EXPECT_EQ(aptUrisOfFile("a.sources", "URIs: http://s.example.test/debian\n"),
            (std::vector<std::string>{"http://s.example.test/debian"}));
  EXPECT_TRUE(aptUrisOfFile("a.txt", "deb http://l.example.test/debian x main\n").empty());
}

class HostAptSource : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    apt_ = tmp_.path() + "/etc/apt";
    ASSERT_TRUE(fs::makeDirs(apt_ + "/sources.list.d"));
  }
  void write(const std::string& rel, const std::string& text) {
    ASSERT_TRUE(fs::writeFileAtomic(apt_ + "/" + rel, text));
  }
  TempDir tmp_{"coco-apt"};
  std::string apt_;
};

// The host's sources as a current Debian writes them: a disabled stanza first,
// then a line whose options are several words. The bootstrap must take the
// enabled mirror, as apt does.
TEST_F(HostAptSource, SkipsDisabledStanzasAndReadsMultiWordOptions) {
  write("sources.list.d/a-old.sources",
        "Types: deb\nURIs: http://disabled.example.test/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n");
  write("sources.list.d/b-main.list",
        "deb [ arch=amd64 signed-by=/usr/share/keyrings/k.gpg trusted=no ] http://mirror.example.test/debian trixie "
        "main\n");
  auto source = hostAptSource("trixie", apt_);
  ASSERT_TRUE(source.ok()) << source.error().describe();
  EXPECT_EQ(*source, "deb http://mirror.example.test/debian trixie main");
}

TEST_F(HostAptSource, SourcesListFirstThenTheDirectoryInNameOrderSecurityAndOthersSkipped) {
  write("sources.list", "deb http://security.example.test/debian-security trixie-security main\n"
                        "deb https://pkgs.example.test/apt stable main\n");
  write("sources.list.d/z.sources", "Types: deb\nURIs: http://z.example.test/debian\n");
  write("sources.list.d/m.list", "deb http://m.example.test/debian trixie main\n");
  write("sources.list.d/a.list.disabled", "deb http://a.example.test/debian trixie main\n");
  EXPECT_EQ(*hostAptSource("sid", apt_), "deb http://m.example.test/debian sid main");
}

TEST_F(HostAptSource, NoMirrorIsAnError) {
  EXPECT_FALSE(hostAptSource("trixie", apt_).ok());
  write("sources.list", "deb file:/srv/debian trixie main\n");
  auto none = hostAptSource("trixie", apt_);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("no Debian mirror"), std::string::npos);
}

}  // namespace
}  // namespace coco::image
