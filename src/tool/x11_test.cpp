// Tests for the X authority reader and writer, DISPLAY parsing and the x11 warnings.
#include "tool/x11.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"
#include "util/unique_fd.hpp"

namespace coco::tool {
namespace {

std::string thisHost() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Bytes as xauth writes them: family 256 (Local), "myhost", "0", the MIT cookie.
TEST(Xauthority, ReadsXauthsFormat) {
  std::string bytes(
      "\x01\x00\x00\x06myhost\x00\x01"
      "0\x00\x12MIT-MAGIC-COOKIE-1\x00\x04\xde\xad\xbe\xef",
      39);
  auto entries = parseXauthority(bytes);
  ASSERT_TRUE(entries.ok()) << entries.error().describe();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].family, kXauthFamilyLocal);
  EXPECT_EQ((*entries)[0].address, "myhost");
  EXPECT_EQ((*entries)[0].number, "0");
  EXPECT_EQ((*entries)[0].name, "MIT-MAGIC-COOKIE-1");
  EXPECT_EQ((*entries)[0].data, std::string("\xde\xad\xbe\xef", 4));
  EXPECT_EQ(formatXauthority(*entries), bytes);
}

// A file cut anywhere is an error, never a read past its end.
TEST(Xauthority, TruncatedIsAnError) {
  std::string bytes =
      formatXauthority({{kXauthFamilyLocal, "h", "0", "MIT-MAGIC-COOKIE-1", "0123456789abcdef"}});
  for (size_t n = 1; n < bytes.size(); ++n) EXPECT_FALSE(parseXauthority(bytes.substr(0, n)).ok()) << n;
  EXPECT_TRUE(parseXauthority("")->empty());
  EXPECT_FALSE(parseXauthority(std::string("\x01\x00\xff\xff", 4)).ok());  // a length past the end
}

TEST(Xauthority, SandboxGetsThisDisplaysLocalEntriesAsWild) {
  std::vector<XauthEntry> host = {
      {kXauthFamilyLocal, "myhost", "0", "MIT-MAGIC-COOKIE-1", "c0"},
      {kXauthFamilyLocal, "myhost", "1", "MIT-MAGIC-COOKIE-1", "c1"},            // another display
      {kXauthFamilyLocal, "otherhost", "0", "MIT-MAGIC-COOKIE-1", "c2"},         // another machine's
      {0, std::string("\x7f\x00\x00\x01", 4), "0", "MIT-MAGIC-COOKIE-1", "c3"},  // Internet
      {kXauthFamilyWild, "", "0", "MIT-MAGIC-COOKIE-1", "c4"},
  };
  auto out = sandboxXauthority(host, 0, "myhost");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].family, kXauthFamilyWild);
  EXPECT_EQ(out[0].data, "c0");
  EXPECT_EQ(out[0].address, "myhost");
  EXPECT_EQ(out[1].data, "c4");
  EXPECT_TRUE(sandboxXauthority(host, 2, "myhost").empty());
  EXPECT_EQ(sandboxXauthority(host, 1, "myhost").at(0).data, "c1");
}

TEST(Display, Forms) {
  auto local = parseDisplay(":0");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->number, 0u);
  EXPECT_FALSE(local->tcp());
  EXPECT_EQ(parseDisplay(":1.0")->number, 1u);
  EXPECT_FALSE(parseDisplay("unix:2")->tcp());
  auto ssh = parseDisplay("localhost:10.0");
  ASSERT_TRUE(ssh.ok());
  EXPECT_TRUE(ssh->tcp());
  EXPECT_EQ(ssh->number, 10u);
  for (const char* bad : {"", "0", ":", ":x", ":1x", "/tmp/launch/org.x:0", ":99999999999"})
    EXPECT_FALSE(parseDisplay(bad).ok()) << bad;
}

TEST(X11Warnings, DisplaySocketAndCookie) {
  TempDir tmp("coco-x11");
  std::string home = tmp.sub("home");
  std::string sockets = tmp.sub("x11-unix");
  ASSERT_TRUE(fs::makeDirs(home).ok());
  ASSERT_TRUE(fs::makeDirs(sockets).ok());
  auto has = [](const std::vector<std::string>& w, const std::string& needle) {
    for (const auto& l : w)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(x11Warnings({}, home, sockets), "DISPLAY is not set"));
  std::map<std::string, std::string> env = {{"DISPLAY", ":7"}};
  auto w = x11Warnings(env, home, sockets);
  EXPECT_TRUE(has(w, "no X socket " + sockets + "/X7")) << w.size();
  EXPECT_TRUE(has(w, "no usable X authority file"));
  // A real socket and a cookie for this host: nothing to say.
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = sockets + "/X7";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  path.copy(addr.sun_path, path.size());
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_TRUE(fs::writeFileAtomic(home + "/.Xauthority", formatXauthority({{kXauthFamilyLocal, thisHost(),
                                                                            "8", "MIT-MAGIC-COOKIE-1", "x"}}))
                  .ok());
  w = x11Warnings(env, home, sockets);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(has(w, "has no cookie for display 7")) << w[0];
  env["XAUTHORITY"] = tmp.sub("xauth");
  ASSERT_TRUE(fs::writeFileAtomic(env["XAUTHORITY"], formatXauthority({{kXauthFamilyLocal, thisHost(), "7",
                                                                        "MIT-MAGIC-COOKIE-1", "x"}}))
                  .ok());
  EXPECT_TRUE(x11Warnings(env, home, sockets).empty());
  // Over TCP planning refuses; no warnings on top.
  EXPECT_TRUE(x11Warnings({{"DISPLAY", "localhost:10.0"}}, home, sockets).empty());
}

}  // namespace
}  // namespace coco::tool
