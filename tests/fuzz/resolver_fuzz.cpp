// The upstream DNS server's address: COCO_DNS_UPSTREAM ("IP[:PORT]",
// "[V6]:PORT") and the host's resolv.conf.
#include <arpa/inet.h>

#include <cstring>

#include "fuzz_support.hpp"
#include "net/resolver.hpp"
#include "util/host_port.hpp"

namespace {

using namespace coco;

void checkEndpoint(const net::Endpoint& ep) {
  if (ep.addr.ss_family == AF_INET) {
    auto* sa = reinterpret_cast<const sockaddr_in*>(&ep.addr);
    FUZZ_CHECK(ep.len == sizeof(sockaddr_in) && sa->sin_port != 0, ep.text);
  } else {
    auto* sa = reinterpret_cast<const sockaddr_in6*>(&ep.addr);
    FUZZ_CHECK(ep.addr.ss_family == AF_INET6 && ep.len == sizeof(sockaddr_in6) && sa->sin6_port != 0, ep.text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto ep = net::parseEndpoint(text)) {
    checkEndpoint(*ep);
    FUZZ_CHECK(ep->text == text, text);
    auto hp = splitHostPort(text);
    FUZZ_CHECK(hp.ok(), text);
    uint16_t port = hp->port.value_or(53);
    auto same = net::socketEndpoint(hp->host, port);
    FUZZ_CHECK(same && same->len == ep->len && std::memcmp(&same->addr, &ep->addr, ep->len) == 0, text);
  }
  if (auto ep = net::nameserverFromResolvConf(text)) {
    checkEndpoint(*ep);
    FUZZ_CHECK(isIpLiteral(ep->text), ep->text);
  }
  return 0;
}
