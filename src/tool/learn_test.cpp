// Tests for learn mode's plan, findings and the suggested config (tool/learn.hpp).
#include "tool/learn.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::tool {
namespace {

config::ToolConfig load(const std::string& path, const std::string& text) {
  EXPECT_TRUE(fs::writeFileAtomic(path, text).ok());
  auto c = config::loadConfig(path);
  EXPECT_TRUE(c) << c.error().describe();
  return c ? *c : config::ToolConfig{};
}

net::Destination dest(std::string host, uint16_t port, bool literal = false, bool allowed = true) {
  return {std::move(host), port, literal, allowed, allowed ? "" : "a loopback address"};
}

class LearnTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tmp_.path(); }
  TempDir tmp_{"coco-learn"};
  std::string dir_;
};

TEST_F(LearnTest, AnEntryIsTheNameForWebPortsElseNameAndPort) {
  EXPECT_EQ(allowEntry(dest("registry.test", 443)), "registry.test");
  EXPECT_EQ(allowEntry(dest("registry.test", 80)), "registry.test");
  EXPECT_EQ(allowEntry(dest("git.test", 22)), "git.test:22");
  EXPECT_EQ(allowEntry(dest("192.0.2.7", 443, true)), "192.0.2.7:443");
}

TEST_F(LearnTest, SuggestedHostsKeepTheConfigsAndAddOnlyWhatItDoesNotCover) {
  auto c = load(dir_ + "/t.json", R"({"command": "t", "allowed_hosts": ["*.cdn.test", "a.test"]})");
  Learned l;
  l.destinations = {dest("a.test", 443), dest("x.cdn.test", 80), dest("a.test", 8080),
                    dest("b.test", 443), dest("b.test", 80),     dest("192.0.2.7", 5000, true)};
  EXPECT_EQ(suggestedHosts(c, l),
            (std::vector<std::string>{"*.cdn.test", "a.test", "a.test:8080", "b.test", "192.0.2.7:5000"}));
}

TEST_F(LearnTest, ApplyingToJsonSetsHostsDropsNetworkNoneMakesWrittenMountsRwAndKeepsKeyOrder) {
  std::string text = R"({
  "command": "t",
  "mounts": [{"src": ".", "dst": "/workspace", "opts": "ro"}, {"src": "~/x", "dst": "/x", "opts": "ro"}],
  "network": "none",
  "env": {"A": "1"}
})";
  auto c = load(dir_ + "/t.json", text);
  Learned l;
  l.destinations = {dest("a.test", 443), dest("b.test", 22)};
  l.writes = {{".", "/workspace", {"out.txt"}, 1}};
  auto out = applyLearned(c, text, l);
  ASSERT_TRUE(out) << out.error().describe();
  auto applied = config::parseConfig(*out, c.path, "t");
  ASSERT_TRUE(applied) << *out;
  EXPECT_EQ(applied->network, NetworkMode::Allowlist);
  EXPECT_EQ(applied->allowedHosts, (std::vector<std::string>{"a.test", "b.test:22"}));
  ASSERT_EQ(applied->mounts.size(), 2u);
  EXPECT_FALSE(applied->mounts[0].readOnly);
  EXPECT_TRUE(applied->mounts[1].readOnly);
  EXPECT_LT(out->find("\"command\""), out->find("\"mounts\"")) << *out;
  EXPECT_LT(out->find("\"mounts\""), out->find("\"env\"")) << *out;
}

TEST_F(LearnTest, ApplyingToYamlWritesYaml) {
  std::string text = "command: t\nnetwork: none\nmounts:\n  - src: .\n    dst: /workspace\n    opts: ro\n";
  auto c = load(dir_ + "/t.yaml", text);
  Learned l;
  l.destinations = {dest("a.test", 443)};
  auto out = applyLearned(c, text, l);
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->find('{'), std::string::npos) << *out;
  auto applied = config::parseConfig(*out, c.path, "t");
  ASSERT_TRUE(applied) << *out;
  EXPECT_EQ(applied->allowedHosts, std::vector<std::string>{"a.test"});
  EXPECT_TRUE(applied->mounts[0].readOnly);
}

// What the guard removed is reported; a .git write gets the {git: write} note, never applied.
TEST_F(LearnTest, GuardRemovalsAreReportedAndGitWritesNoted) {
  std::string text = R"({"command": "t", "network": "none", "mounts": [{"src": ".", "dst": "/w"}]})";
  auto c = load(dir_ + "/t.json", text);
  Learned l;
  l.tool = "t";
  l.guardRemoved = {"/p/.git/hooks/pre-commit"};
  std::string d = describeLearned(c, l);
  EXPECT_NE(d.find("the workspace guard removed /p/.git/hooks/pre-commit"), std::string::npos) << d;
  EXPECT_NE(d.find("workspace_guard: {git: write}"), std::string::npos) << d;
  auto out = applyLearned(c, text, l);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->find("workspace_guard"), std::string::npos) << *out;
}

// The paths and names in the review come from the tool: a file name holding a
// terminal escape (ESC[2A moves up to hide lines, \r returns, \n fakes a line,
// U+009B is a CSI) is shown escaped, never acted on by the user's terminal.
TEST_F(LearnTest, ToolChosenPathsAndNamesArePrintedEscaped) {
  std::string text = R"({"command": "t", "mounts": [{"src": ".", "dst": "/w", "opts": "ro"}]})";
  auto c = load(dir_ + "/t.json", text);
  const std::string evil = "a\033[2Ab\rc\nd\xc2\x9b" "e";
  const std::string shown = "a\\x1b[2Ab\\x0dc\\x0ad\\xc2\\x9be";
  Learned l;
  l.tool = "t";
  l.writes = {{"./", "/w", {evil}, 1}};
  l.guardRemoved = {"/p/" + evil};
  l.lookedUpOnly = {evil};
  l.destinations = {dest(evil, 443)};
  std::string d = describeLearned(c, l);
  EXPECT_EQ(d.find('\033'), std::string::npos) << d;
  EXPECT_EQ(d.find('\r'), std::string::npos) << d;
  EXPECT_EQ(d.find("\xc2\x9b"), std::string::npos) << d;
  EXPECT_NE(d.find("    " + shown + "\n"), std::string::npos) << d;
  EXPECT_NE(d.find("the workspace guard removed /p/" + shown + " ("), std::string::npos) << d;
  EXPECT_NE(d.find("looked up " + shown + " (no connection)"), std::string::npos) << d;
  EXPECT_NE(d.find("connected to " + shown + ":443"), std::string::npos) << d;
  EXPECT_NE(d.find("allowed_hosts: [" + shown + "]"), std::string::npos) << d;
  EXPECT_EQ(d.find("c\nd"), std::string::npos) << d;
}

// A file name that is not UTF-8 (the tool chose it) made the record's dump() throw: coco ended
// and the learn run's record was lost. It is kept, the bytes replaced.
TEST_F(LearnTest, ARecordWithNamesThatAreNotUtf8IsStillWritten) {
  Learned l;
  l.tool = "t";
  l.writes = {{"./", "/w", {"bad\x9bname"}, 1}};
  l.guardRemoved = {"/p/\xff"};
  l.lookedUpOnly = {"host\xc3"};
  std::string json;
  ASSERT_NO_THROW(json = learnedToJson(l));
  auto back = learnedFromJson(json, "rec");
  ASSERT_TRUE(back) << back.error().describe();
  ASSERT_EQ(back->writes.size(), 1u);
  EXPECT_EQ(back->writes[0].paths, (std::vector<std::string>{"bad\xef\xbf\xbdname"}));
}

TEST_F(LearnTest, AToolThatReachedNothingWithFullNetworkIsSuggestedNone) {
  std::string text = R"({"command": "t"})";
  auto c = load(dir_ + "/t.json", text);
  auto out = applyLearned(c, text, Learned{});
  ASSERT_TRUE(out);
  EXPECT_EQ(config::parseConfig(*out, c.path, "t")->network, NetworkMode::None);
  EXPECT_NE(describeLearned(c, Learned{}).find("network: none"), std::string::npos);
}

TEST_F(LearnTest, NothingLearnedOnAnOfflineToolChangesNothing) {
  std::string text = R"({"command": "t", "network": "none"})";
  auto c = load(dir_ + "/t.json", text);
  auto out = applyLearned(c, text, Learned{});
  ASSERT_TRUE(out);
  EXPECT_EQ(config::parseConfig(*out, c.path, "t")->network, NetworkMode::None);
  EXPECT_NE(describeLearned(c, Learned{}).find("no change"), std::string::npos);
}

// A tool past the traffic log's bound (net::TrafficLog::kMaxEntries): the report says how many
// lookups and connections it left out and that the suggestion lacks them, and the record keeps the
// counts; a record written before the bound (without them) reads as none left out.
TEST_F(LearnTest, WhatWasPastTheTrafficBoundIsSaidAndKept) {
  net::TrafficLog traffic;
  for (size_t i = 0; i < net::TrafficLog::kMaxEntries + 3; ++i) {
    traffic.lookup(fmt::format("n{}.test", i));
    traffic.connection(dest(fmt::format("h{}.test", i), 443));
  }
  std::string text = R"({"command": "t", "network": "none"})";
  auto c = load(dir_ + "/t.json", text);
  Learned l = collectLearned(c, traffic, {});
  EXPECT_EQ(l.destinations.size(), net::TrafficLog::kMaxEntries);
  EXPECT_EQ(l.unrecordedLookups, 3u);
  EXPECT_EQ(l.unrecordedConnections, 3u);
  std::string said = describeLearned(c, l);
  EXPECT_NE(said.find("... and 3 more connection attempts to destinations past the first 1000, not recorded"),
            std::string::npos)
      << said.substr(said.size() - 2000);
  EXPECT_NE(said.find("... and 3 more lookups of names past the first 1000, not recorded"), std::string::npos);
  EXPECT_NE(said.find("note: the tool tried more than 1000 destinations"), std::string::npos);
  std::string json = learnedToJson(l);
  auto back = learnedFromJson(json, "rec");
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->unrecordedLookups, 3u);
  EXPECT_EQ(back->unrecordedConnections, 3u);
  Learned few;
  few.tool = "t";
  auto j = nlohmann::json::parse(learnedToJson(few));
  ASSERT_EQ(j.erase("unrecorded_lookups") + j.erase("unrecorded_connections"), 2u) << j.dump();
  std::string old = j.dump();
  auto oldBack = learnedFromJson(old, "rec");
  ASSERT_TRUE(oldBack) << oldBack.error().describe() << old;
  EXPECT_EQ(oldBack->unrecordedLookups + oldBack->unrecordedConnections, 0u);
  EXPECT_EQ(describeLearned(c, *oldBack).find("not recorded"), std::string::npos);
}

// The workspace guard's removals in a learn run: the first kMaxLearnedRemovals are listed and
// kept in the record, the rest counted (a tool making guarded names by the thousand flooded the
// report and made a record too large to read back).
TEST_F(LearnTest, TheGuardsRemovalsAreListedUpToABound) {
  std::vector<std::string> removed;
  for (int i = 0; i < 60; ++i) removed.push_back(fmt::format("/p/mise.{:02}.toml", i));
  std::string text = R"({"command": "t", "network": "none"})";
  auto c = load(dir_ + "/t.json", text);
  Learned l = collectLearned(c, net::TrafficLog{}, {}, removed, 5);
  EXPECT_EQ(l.guardRemoved.size(), kMaxLearnedRemovals);
  EXPECT_EQ(l.guardRemovedMore, 15u);
  std::string said = describeLearned(c, l);
  EXPECT_NE(said.find("... and the workspace guard removed 15 more"), std::string::npos) << said;
  auto back = learnedFromJson(learnedToJson(l), "rec");
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->guardRemoved.size(), kMaxLearnedRemovals);
  EXPECT_EQ(back->guardRemovedMore, 15u);
}

// The record is read back from disk and turned into a config: what it says is checked.
TEST_F(LearnTest, ARecordRoundTripsAndABadOneIsRefused) {
  Learned l;
  l.tool = "t";
  l.configPath = "/c/t.json";
  l.configHash = "abc";
  l.destinations = {dest("a.test", 443), dest("192.0.2.7", 22, true, false)};
  l.lookedUpOnly = {"telemetry.test"};
  l.writes = {{".", "/workspace", {"a", "(removed) b"}, 3}};
  l.guardRemoved = {"/p/.envrc", "/p/.git/hooks/pre-commit"};
  auto back = learnedFromJson(learnedToJson(l), "rec");
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->destinations, l.destinations);
  EXPECT_EQ(back->destinations[1].refusal, "a loopback address");
  EXPECT_EQ(back->lookedUpOnly, l.lookedUpOnly);
  EXPECT_EQ(back->writes[0].paths, l.writes[0].paths);
  EXPECT_EQ(back->writes[0].total, 3u);
  EXPECT_EQ(back->guardRemoved, l.guardRemoved);
  std::string good = learnedToJson(l);
  auto bad = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    t.replace(at, from.size(), to);
    auto r = learnedFromJson(t, "/state/t.json");
    EXPECT_FALSE(r) << t;
    if (!r) {
      EXPECT_NE(r.error().describe().find("/state/t.json"), std::string::npos) << r.error().describe();
    }
  };
  bad("\"a.test\"", "\"a.test, evil.test\"");
  bad("\"a.test\"", "\"[::1]\"");
  bad("\"a.test\"", "\"*.test\"");
  bad("\"a.test\"", "\"a.test:22\"");
  bad("\"a.test\"", "\"192.0.2.8\"");  // an address that says it is a name
  bad("\"port\": 443", "\"port\": 0");
  bad("\"port\": 443", "\"port\": 70000");
  bad("\"config_hash\"", "\"hash\"");
  bad("{", "[");
  // A count read as unsigned: -1 would have come back as 2^64-1 ("... and 18446744073709551615 more").
  bad("\"total\": 3", "\"total\": -1");
  bad("\"total\": 3", "\"total\": 3.5");
  bad("\"unrecorded_lookups\": 0", "\"unrecorded_lookups\": -2");
  bad("\"unrecorded_connections\": 0", "\"unrecorded_connections\": \"7\"");
  bad("\"guard_removed_more\": 0", "\"guard_removed_more\": -5");
  EXPECT_FALSE(learnedFromJson("", "x"));
}

TEST_F(LearnTest, PreparingTurnsReadOnlyDirectoryMountsIntoOverlaysAndOpensTheNetwork) {
  ASSERT_TRUE(fs::makeDirs(dir_ + "/src").ok());
  ASSERT_TRUE(fs::writeFileAtomic(dir_ + "/file", "x").ok());
  auto c = load(dir_ + "/t.json", R"({"command": "t", "network": "none",
      "mounts": [{"src": ")" + dir_ + R"(/src", "dst": "/src", "opts": "ro"},
                 {"src": ")" + dir_ + R"(/file", "dst": "/f", "opts": "ro"}]})");
  engine::RunSpec spec;
  spec.network = NetworkMode::None;
  spec.mounts = {
      {dir_ + "/src", "/src", true}, {dir_ + "/file", "/f", true}, {"/etc/ssl/x", "/etc/ssl/x", true}};
  ASSERT_TRUE(fs::makeDirs(dir_ + "/scratch").ok());
  auto mounts = prepareLearn(spec, c, dir_ + "/scratch");
  ASSERT_TRUE(mounts) << mounts.error().describe();
  EXPECT_EQ(spec.network, NetworkMode::Full);
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_FALSE(spec.mounts[0].readOnly);
  EXPECT_EQ(spec.mounts[0].scratch, (*mounts)[0].scratch);
  EXPECT_TRUE(fs::isDirectory((*mounts)[0].scratch + "/upper"));
  EXPECT_TRUE(spec.mounts[1].readOnly) << "a file mount stays a read-only bind";
  EXPECT_TRUE(spec.mounts[2].readOnly) << "a mount coco adds stays as it is";

  engine::RunSpec host;
  host.network = NetworkMode::Host;
  EXPECT_FALSE(prepareLearn(host, c, dir_ + "/scratch"));
}

TEST_F(LearnTest, WritesAreTheUpperDirsEntriesWithoutCopiedUpDirectories) {
  std::string src = dir_ + "/src", scratch = dir_ + "/scratch";
  ASSERT_TRUE(fs::makeDirs(src + "/sub").ok());
  ASSERT_TRUE(fs::makeDirs(scratch + "/upper/sub").ok());
  ASSERT_TRUE(fs::makeDirs(scratch + "/upper/newdir/deeper").ok());
  ASSERT_TRUE(fs::writeFileAtomic(scratch + "/upper/newdir/deeper/f", "x").ok());
  ASSERT_TRUE(fs::writeFileAtomic(scratch + "/upper/sub/written", "x").ok());
  ASSERT_TRUE(fs::writeFileAtomic(scratch + "/upper/top", "x").ok());
  ASSERT_EQ(::symlink("/etc/passwd", (scratch + "/upper/link").c_str()), 0);
  bool whiteout = ::mknod((scratch + "/upper/gone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0;
  std::vector<LearnMount> mounts = {{".", "/workspace", scratch, src}};
  auto w = learnedWrites(mounts);
  ASSERT_EQ(w.size(), 1u);
  std::vector<std::string> want = {"link", "newdir/", "sub/written", "top"};
  if (whiteout) want.insert(want.begin(), "(removed) gone");
  EXPECT_EQ(w[0].paths, want);
  // Capped: the first ones in order, whatever order the walk met them in, and the count of all.
  auto capped = learnedWrites(mounts, 2);
  EXPECT_EQ(capped[0].paths, std::vector<std::string>(want.begin(), want.begin() + 2));
  EXPECT_EQ(capped[0].total, want.size());
  EXPECT_EQ(learnedWrites(mounts, 0)[0].total, want.size());
  EXPECT_TRUE(learnedWrites({{".", "/w", dir_ + "/nothing", src}}).empty());
}

}  // namespace
}  // namespace coco::tool
