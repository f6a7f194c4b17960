// Tests for the X authority reader and writer, DISPLAY parsing, planning (a display over TCP's
// relay) and the x11 warnings.
#include "tool/x11.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

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

// Over TCP the display's host's own entries (family Internet, its address) are the display's too;
// another host's are not.
TEST(Xauthority, TcpDisplayAlsoTakesItsHostsInternetEntries) {
  std::string lo("\x7f\x00\x00\x01", 4), other("\x0a\x00\x00\x05", 4);
  std::vector<XauthEntry> host = {
      {kXauthFamilyInternet, lo, "10", "MIT-MAGIC-COOKIE-1", "c0"},
      {kXauthFamilyInternet, other, "10", "MIT-MAGIC-COOKIE-1", "c1"},  // another host's display 10
      {kXauthFamilyInternet, lo, "11", "MIT-MAGIC-COOKIE-1", "c2"},     // another display
      {kXauthFamilyLocal, "myhost", "10", "MIT-MAGIC-COOKIE-1", "c3"},  // ssh -X's myhost/unix:10
  };
  in_addr_t loAddr;
  std::memcpy(&loAddr, lo.data(), 4);
  auto out = sandboxXauthority(host, 10, "myhost", {loAddr});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "c0");
  EXPECT_EQ(out[0].family, kXauthFamilyWild);
  EXPECT_EQ(out[1].data, "c3");
  EXPECT_EQ(sandboxXauthority(host, 10, "myhost").size(), 1u) << "Internet entries need the display's host";
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
}

// Over TCP: no socket to look for; the display's port must answer, and a cookie is looked for
// as for a local display.
TEST(X11Warnings, TcpDisplayPortAndCookie) {
  TempDir tmp("coco-x11");
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A display number whose port is free, then one that listens.
  unsigned n = 0;
  for (unsigned d = 40; d < 400 && n == 0; ++d) {
    sa.sin_port = htons(static_cast<uint16_t>(6000 + d));
    if (::bind(l.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) n = d;
  }
  ASSERT_NE(n, 0u);
  std::map<std::string, std::string> env = {{"DISPLAY", "127.0.0.1:" + std::to_string(n) + ".0"},
                                            {"XAUTHORITY", tmp.sub("xauth")}};
  auto has = [](const std::vector<std::string>& w, const std::string& needle) {
    for (const auto& line : w)
      if (line.find(needle) != std::string::npos) return true;
    return false;
  };
  auto w = x11Warnings(env, tmp.path(), tmp.path());
  EXPECT_TRUE(has(w, "nothing answers on 127.0.0.1 port " + std::to_string(6000 + n))) << w.size();
  EXPECT_FALSE(has(w, "no X socket"));
  ASSERT_EQ(::listen(l.get(), 4), 0);
  ASSERT_TRUE(fs::writeFileAtomic(env["XAUTHORITY"],
                                  formatXauthority({{kXauthFamilyLocal, thisHost(), std::to_string(n),
                                                     "MIT-MAGIC-COOKIE-1", "x"}}))
                  .ok());
  w = x11Warnings(env, tmp.path(), tmp.path());
  EXPECT_TRUE(w.empty()) << w.front();
}

// ssh -X's DISPLAY=localhost:10.0: the sandbox gets a socket directory of its own holding X10
// (relayed by coco to port 6010 of localhost, nothing else) and DISPLAY=:10, and the cookie.
TEST(PlanX11, TcpDisplayGetsARelaySocketOfItsOwn) {
  TempDir tmp("coco-x11");
  std::string files = tmp.sub("files");
  std::map<std::string, std::string> env = {{"DISPLAY", "localhost:10.0"}, {"XAUTHORITY", tmp.sub("xauth")}};
  ASSERT_TRUE(fs::writeFileAtomic(
                  env["XAUTHORITY"],
                  formatXauthority({{kXauthFamilyLocal, thisHost(), "10", "MIT-MAGIC-COOKIE-1", "c10"},
                                    {kXauthFamilyLocal, thisHost(), "0", "MIT-MAGIC-COOKIE-1", "c0"}}))
                  .ok());
  auto g = planX11(env, tmp.path(), files, true, "/tmp/.X11-unix");
  ASSERT_TRUE(g.ok()) << g.error().describe();
  std::string dir = files + "/relay-" + std::to_string(::getpid());
  EXPECT_EQ(g->relay.socketPath, dir + "/X10");
  EXPECT_EQ(g->relay.port, 6010);
  EXPECT_EQ(g->relay.host, "localhost");
  ASSERT_FALSE(g->relay.addresses.empty());
  for (in_addr_t a : g->relay.addresses) EXPECT_EQ(ntohl(a) >> 24, 127u);
  struct stat st;
  ASSERT_EQ(::lstat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(g->mounts.size(), 2u);
  EXPECT_EQ(g->mounts[0].src, dir);
  EXPECT_EQ(g->mounts[0].dst, "/tmp/.X11-unix");
  EXPECT_TRUE(g->mounts[0].readOnly);
  EXPECT_TRUE(g->mounts[1].readOnly);
  auto entries = parseXauthority(*fs::readFile(g->mounts[1].src));
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].data, "c10");
  EXPECT_EQ((*entries)[0].family, kXauthFamilyWild);
  std::map<std::string, std::string> vars(g->env.begin(), g->env.end());
  EXPECT_EQ(vars["DISPLAY"], ":10");
  EXPECT_EQ(vars["XAUTHORITY"], "/tmp/.coco-xauthority");
  // A dry run makes nothing.
  TempDir dry("coco-x11");
  auto d = planX11(env, tmp.path(), dry.sub("files"), false, "/tmp/.X11-unix");
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_FALSE(fs::isDirectory(dry.sub("files")));
  // A local display has no relay.
  env["DISPLAY"] = ":0";
  EXPECT_TRUE(planX11(env, tmp.path(), files, false, "/tmp/.X11-unix")->relay.socketPath.empty());
}

TEST(PlanX11, TcpDisplayRefusals) {
  TempDir tmp("coco-x11");
  auto plan = [&](const std::string& display, const std::string& files) {
    return planX11({{"DISPLAY", display}}, tmp.path(), files, false, "/tmp/.X11-unix");
  };
  auto unknown = plan("no-such-host.invalid:3", tmp.sub("f"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().describe().find("no-such-host.invalid"), std::string::npos);
  EXPECT_FALSE(plan("[::1]:3", tmp.sub("f")).ok());
  EXPECT_FALSE(plan("host name:3", tmp.sub("f")).ok());
  auto nowhere = plan("localhost:3", "");
  ASSERT_FALSE(nowhere.ok());
  EXPECT_NE(nowhere.error().describe().find("XDG_RUNTIME_DIR"), std::string::npos);
  auto deep = plan("localhost:3", tmp.sub(std::string(100, 'd')));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().describe().find("too long"), std::string::npos);
}

}  // namespace
}  // namespace coco::tool
