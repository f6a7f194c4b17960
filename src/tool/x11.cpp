// Reading and rewriting X authority files, and checking the host's display for `x11`.
#include "tool/x11.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>

#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace coco::tool {

namespace {

constexpr size_t kMaxXauthorityBytes = 1 << 20;
constexpr const char* kSandboxXauthority = "/tmp/.coco-xauthority";

struct Reader {
  std::string_view in;
  bool u16(uint16_t& out) {
    if (in.size() < 2) return false;
    out = static_cast<uint16_t>((static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]));
    in.remove_prefix(2);
    return true;
  }
  bool field(std::string& out) {
    uint16_t n;
    if (!u16(n) || in.size() < n) return false;
    out.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  }
};

void putU16(std::string& out, size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void putField(std::string& out, const std::string& s) {
  putU16(out, s.size());
  out += s;
}

std::string hostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

Result<std::vector<XauthEntry>> readXauthority(const std::string& path) {
  COCO_ASSIGN(std::string bytes, fs::readFileAtMost(path, kMaxXauthorityBytes));
  auto entries = parseXauthority(bytes);
  if (!entries) return std::move(entries).error().wrap(path);
  return entries;
}

}  // namespace

Result<std::vector<XauthEntry>> parseXauthority(std::string_view bytes) {
  std::vector<XauthEntry> out;
  Reader r{bytes};
  while (!r.in.empty()) {
    XauthEntry e;
    if (!r.u16(e.family) || !r.field(e.address) || !r.field(e.number) || !r.field(e.name) || !r.field(e.data))
      return Error::make("truncated X authority entry {} (at byte {})", out.size() + 1,
                         bytes.size() - r.in.size());
    out.push_back(std::move(e));
  }
  return out;
}

std::string formatXauthority(const std::vector<XauthEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    putU16(out, e.family);
    for (const std::string* f : {&e.address, &e.number, &e.name, &e.data}) putField(out, *f);
  }
  return out;
}

Result<X11Display> parseDisplay(std::string_view display) {
  size_t colon = display.rfind(':');
  if (colon == std::string_view::npos || display.find('/') != std::string_view::npos)
    return Error::make("DISPLAY '{}' is not HOST:N or :N", display);
  X11Display d;
  d.host = std::string(display.substr(0, colon));
  std::string_view rest = display.substr(colon + 1);
  rest = rest.substr(0, rest.find('.'));
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), d.number);
  if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size() || d.number > 65535 - 6000)
    return Error::make("DISPLAY '{}' has no display number", display);
  return d;
}

std::vector<XauthEntry> sandboxXauthority(const std::vector<XauthEntry>& hostEntries, unsigned number,
                                          const std::string& hostname) {
  std::vector<XauthEntry> out;
  std::string n = std::to_string(number);
  for (const auto& e : hostEntries) {
    if (e.number != n && !e.number.empty()) continue;
    bool local = e.family == kXauthFamilyLocal && e.address == hostname;
    if (!local && e.family != kXauthFamilyWild) continue;
    XauthEntry wild = e;
    wild.family = kXauthFamilyWild;
    out.push_back(std::move(wild));
  }
  return out;
}

std::string hostXauthorityPath(const std::map<std::string, std::string>& hostEnv, const std::string& home) {
  auto it = hostEnv.find("XAUTHORITY");
  if (it != hostEnv.end() && !it->second.empty()) return it->second;
  return home.empty() ? std::string() : fs::joinPath(home, ".Xauthority");
}

Result<X11Grant> planX11(const std::map<std::string, std::string>& hostEnv, const std::string& home,
                         const std::string& fileDir, bool writeFiles, const std::string& socketDir) {
  X11Grant grant;
  auto it = hostEnv.find("DISPLAY");
  if (it == hostEnv.end() || it->second.empty()) return grant;
  auto display = parseDisplay(it->second);
  if (!display) return std::move(display).error().wrap("x11");
  if (display->tcp())
    return Error::make(
        "x11: DISPLAY is {}, an X display over TCP (as ssh -X sets): not supported, the sandbox "
        "reaches the X server only through its unix socket in {}. Run the tool in a local "
        "graphical session, or start it with DISPLAY=:N of a local X server",
        it->second, socketDir);
  if (fs::isDirectory(socketDir)) grant.mounts.push_back({socketDir, socketDir, true});
  grant.env.emplace_back("DISPLAY", it->second);
  auto hostEntries = readXauthority(hostXauthorityPath(hostEnv, home));
  if (!hostEntries || fileDir.empty()) return grant;  // x11Warnings says why
  auto entries = sandboxXauthority(*hostEntries, display->number, hostName());
  if (entries.empty()) return grant;
  std::string content = formatXauthority(entries);
  std::string file = fs::joinPath(fileDir, sha256Hex(content).substr(0, 32) + ".xauth");
  if (writeFiles) {
    COCO_TRY(fs::makeDirs(fileDir, 0700));
    COCO_TRY(fs::writeFileAtomic(file, content, 0600));
  }
  grant.mounts.push_back({file, kSandboxXauthority, true});
  grant.env.emplace_back("XAUTHORITY", kSandboxXauthority);
  return grant;
}

std::vector<std::string> x11Warnings(const std::map<std::string, std::string>& hostEnv,
                                     const std::string& home, const std::string& socketDir) {
  auto it = hostEnv.find("DISPLAY");
  if (it == hostEnv.end() || it->second.empty())
    return {
        "x11: DISPLAY is not set, so the tool has no X display to open (run it from a graphical session)"};
  auto display = parseDisplay(it->second);
  if (!display || display->tcp()) return {};  // planning refuses these with the reason
  std::vector<std::string> out;
  std::string socket = fs::joinPath(socketDir, "X" + std::to_string(display->number));
  struct stat st;
  if (::stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    out.push_back(fmt::format("x11: DISPLAY is {} but there is no X socket {}: is the X server running?",
                              it->second, socket));
  std::string file = hostXauthorityPath(hostEnv, home);
  auto entries = readXauthority(file);
  if (!entries)
    out.push_back(
        fmt::format("x11: no usable X authority file ({}); a server that asks for a cookie will refuse "
                    "the tool",
                    entries.error().describe()));
  else if (sandboxXauthority(*entries, display->number, hostName()).empty())
    out.push_back(
        fmt::format("x11: {} has no cookie for display {} of this host; a server that asks for one "
                    "will refuse the tool",
                    file, display->number));
  return out;
}

}  // namespace coco::tool
