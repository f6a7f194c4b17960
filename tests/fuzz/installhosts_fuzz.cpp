// Install-host discovery from configuration an image or a project controls:
// npm's registry, an image's apt sources (one-line and deb822), pip.conf,
// cargo config (source replacement too), GOPROXY, mise's mirror settings,
// HTTPS_PROXY/NO_PROXY, and mise specs through the download table. Whatever
// they say, every host that reaches the install's allowlist is in the
// allowlist's grammar, and no IP literal that is not a public address
// (metadata, loopback, LAN, CGNAT, ...) gets through.
#include "fuzz_support.hpp"
#include "tool/install_hosts.hpp"
#include "util/fs.hpp"
#include "util/host_port.hpp"

namespace {

using namespace coco;

std::string gDir;

void put(const std::string& rel, std::string_view text) {
  std::string path = gDir + "/" + rel;
  FUZZ_CHECK(fs::makeDirs(path.substr(0, path.rfind('/'))).ok(), path);
  FUZZ_CHECK(fuzz::writeFile(path, text), path);
}

void checkHost(const std::string& h) {
  auto p = parseHostPattern(h);
  FUZZ_CHECK(p.ok(), h);
  FUZZ_CHECK(formatHostPattern(*p) == h, h);
  FUZZ_CHECK(!p->isAddress || classifyAddress(p->address) == AddressKind::Public, h);
  FUZZ_CHECK(tool::refusedDerivedHost(h) == nullptr, h);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gDir = fuzz::processTempDir("coco-fuzz-hosts");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  uint8_t flags = in.byte();
  std::string npm(in.field()), goproxy(in.field());
  put("img/etc/apt/sources.list", in.field());
  put("img/etc/apt/sources.list.d/x.sources", in.field());
  put("home/.config/pip/pip.conf", in.field());
  put("home/.cargo/config.toml", in.field());
  put("home/.npmrc", in.rest());

  tool::HostConfigSource src;
  src.home = gDir + "/home";
  src.etcDir = gDir + "/etc";
  if (flags & 1) src.env["GOPROXY"] = goproxy;
  if (flags & 2) src.env["PIP_INDEX_URL"] = goproxy;
  if (flags & 4) {
    src.command = [&](const std::vector<std::string>& argv) -> std::optional<std::string> {
      if (argv[0] == "npm") return npm;
      if (argv[0] == "go") return goproxy;
      return std::nullopt;
    };
  }
  // Mirror and proxy settings of the host take the same fuzzed URL; the npm
  // field doubles as a mise spec for the download table.
  if (flags & 16) src.env["MISE_NODE_MIRROR_URL"] = goproxy;
  if (flags & 32) src.env["HTTPS_PROXY"] = goproxy;
  if (flags & 64) src.env["NO_PROXY"] = npm;
  tool::InstallNeeds needs = (flags & 128) ? tool::needsForSpec(npm) : tool::needsForSpecs({"node@lts", "ripgrep"});
  needs.npm = (flags & 8) != 0;
  needs.apt = needs.python = needs.cargo = needs.go = true;
  auto hosts = tool::installHosts(needs, src, {gDir + "/img"});
  if (hosts)
    for (const auto& h : hosts->hosts) checkHost(h);
  for (std::string_view url : {std::string_view(npm), std::string_view(goproxy)}) {
    std::string h = tool::hostOfUrl(url);
    if (!h.empty()) FUZZ_CHECK(parseHostPattern(h).ok() && formatHostPattern(*parseHostPattern(h)) == h, h);
  }
  return 0;
}
