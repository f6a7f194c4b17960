// The strings users write for hosts, ports and paths: config and gateway read
// them with one grammar and agree; canonical spellings parse back to the same
// value; normalising twice changes nothing.
#include "config/checks.hpp"
#include "fuzz_support.hpp"
#include "net/allowlist.hpp"
#include "net/resolver.hpp"
#include "tool/plan.hpp"
#include "util/fs.hpp"
#include "util/host_port.hpp"

namespace {

using namespace coco;

bool samePattern(const HostPattern& a, const HostPattern& b) {
  return a.name == b.name && a.subdomainsOnly == b.subdomainsOnly && a.isAddress == b.isAddress &&
         a.address == b.address && a.ports == b.ports;
}

void checkHostPattern(std::string_view text) {
  auto p = parseHostPattern(text);
  auto configured = config::normalizeHost(text);
  auto listed = net::Allowlist::parse({std::string(text)});
  FUZZ_CHECK(p.ok() == configured.ok() && p.ok() == listed.ok(), std::string(text));
  if (!p) return;
  std::string canonical = formatHostPattern(*p);
  FUZZ_CHECK(*configured == canonical, canonical);
  auto again = parseHostPattern(canonical);
  FUZZ_CHECK(again && samePattern(*again, *p) && formatHostPattern(*again) == canonical, canonical);
  FUZZ_CHECK(!p->ports.empty() && std::find(p->ports.begin(), p->ports.end(), 0) == p->ports.end(), canonical);
  if (p->isAddress) {
    FUZZ_CHECK(listed->allowsAddress(p->address, p->ports.front()) && !listed->allowsName(canonical), canonical);
    return;
  }
  FUZZ_CHECK(p->name.size() <= 253 && !p->name.empty(), canonical);
  FUZZ_CHECK(listed->allowsName(p->name) == !p->subdomainsOnly, canonical);
  FUZZ_CHECK(listed->allows("sub." + p->name, p->ports.back()), canonical);
  FUZZ_CHECK(!listed->allowsName("x" + p->name), canonical);
}

void checkPublishedPort(std::string_view text) {
  auto p = parsePublishedPort(text);
  if (!p) return;
  FUZZ_CHECK(p->hostPort != 0 && p->containerPort != 0, std::string(text));
  FUZZ_CHECK(p->hostAddr.find('\0') == std::string::npos, std::string(text));
  FUZZ_CHECK(net::socketEndpoint(p->hostAddr, p->hostPort).ok(), p->hostAddr);  // the gateway binds what config takes
  std::string canonical = formatPublishedPort(*p);
  auto again = parsePublishedPort(canonical);
  FUZZ_CHECK(again && *again == *p && formatPublishedPort(*again) == canonical, canonical);
  auto list = tool::parsePortList(text);
  FUZZ_CHECK(text.find(',') != std::string_view::npos || (list && list->size() == 1 && list->front() == *p),
             std::string(text));
}

void checkHostPort(std::string_view text) {
  if (auto a = parseIpv4(text)) FUZZ_CHECK(formatAddress(*a) == text, std::string(text));
  auto hp = splitHostPort(text);
  if (hp && hp->port) {
    std::string joined = joinHostPort(hp->host, *hp->port);
    auto again = splitHostPort(joined);
    FUZZ_CHECK(again && again->host == hp->host && again->port == hp->port, std::string(text));
  }
  if (auto name = normalizeHostName(text)) {
    auto twice = normalizeHostName(*name);
    FUZZ_CHECK(twice && *twice == *name, *name);
    FUZZ_CHECK(!parseIpv4(*name), *name);
  }
}

void checkPath(std::string_view text) {
  std::string once = fs::normalize(text);
  FUZZ_CHECK(fs::normalize(once) == once, once);
  if (text.starts_with('/')) FUZZ_CHECK(config::checkAbsolutePath(once).ok(), once);
  if (config::checkAbsolutePath(text)) FUZZ_CHECK(once == text, once);
  (void)config::parseMountOptions(text);
  (void)config::checkPackageWord(text);
  (void)config::isValidEnvName(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  checkHostPattern(text);
  checkPublishedPort(text);
  checkHostPort(text);
  checkPath(text);
  return 0;
}
