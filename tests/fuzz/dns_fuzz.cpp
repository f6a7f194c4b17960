// DNS from the sandbox: the stub's answers and the connection verdicts that
// follow, with a resolver whose answers come from the input too; and the same
// bytes read as an upstream server's reply.
#include <arpa/inet.h>

#include <algorithm>

#include "fuzz_support.hpp"
#include "net/dns_message.hpp"
#include "net/policy.hpp"

namespace {

using namespace coco;
using namespace coco::net;

class InputResolver : public Resolver {
 public:
  Resolution answer;
  bool hasCache = false;
  Resolution resolve(const std::string&) override { return answer; }
  std::optional<Resolution> cached(const std::string& name) override {
    if (!hasCache) return std::nullopt;
    return resolve(name);
  }
};

const std::vector<std::vector<std::string>> kAllowlists = {
    {"allowed.test", "ssh.allowed.test:22"},
    {"*.example.com", "192.0.2.7:8080", "10.0.0.1", "a.b"},
    {"x", "x.x", "127.0.0.1:53"},
    {},
};
// What an install derives (an image's apt sources could say anything).
const std::vector<std::vector<std::string>> kDerived = {
    {},
    {"169.254.169.254", "10.0.0.1", "mirror.allowed.test"},
    {"127.0.0.1:53", "192.0.2.7:8080"},
};

const in_addr_t kHostOwn = inet_addr("192.0.2.99");

uint16_t idOf(std::span<const uint8_t> p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Only a public address is a destination by itself; a literal the user wrote
// in allowed_hosts opens its address (to a name too), a derived one does not.
// `unlisted`: the host's own addresses could not be listed, so no public address is one either.
void checkTarget(const PolicyConfig& c, const sockaddr_in& t, uint16_t port, bool unlisted) {
  FUZZ_CHECK(t.sin_family == AF_INET && ntohs(t.sin_port) == port, "");
  in_addr_t address = t.sin_addr.s_addr;
  AddressKind kind = classifyAddress(address);
  FUZZ_CHECK(kind != AddressKind::Unspecified && kind != AddressKind::Multicast && kind != AddressKind::Reserved &&
                 kind != AddressKind::Synthetic,
             formatAddress(address));
  const AllowEntry* entry = c.allowlist.addressEntry(address, port);
  if (entry && entry->origin == EntryOrigin::Config) return;
  FUZZ_CHECK(!unlisted || kind != AddressKind::Public, formatAddress(address));
  if (c.allowLocalDestinations) return;
  FUZZ_CHECK(kind == AddressKind::Public, formatAddress(address));
  FUZZ_CHECK(address != kHostOwn, "");
}

void checkVerdict(const PolicyConfig& c, AddressPool& pool, const Verdict& v, in_addr_t dst, uint16_t port,
                  bool unlisted) {
  if (!v.allowed) {
    FUZZ_CHECK(v.targets.empty(), v.label);
    return;
  }
  FUZZ_CHECK(!v.targets.empty(), v.label);
  std::optional<std::string> name = pool.contains(dst) ? pool.nameFor(dst) : std::nullopt;
  FUZZ_CHECK(!pool.contains(dst) || name, v.label);
  if (c.mode == NetworkMode::Allowlist) {
    bool listed = name ? c.allowlist.allows(*name, port) : c.allowlist.allowsAddress(dst, port);
    FUZZ_CHECK(listed, v.label);
  }
  for (const auto& t : v.targets) checkTarget(c, t, port, unlisted);
}

// The stub's reply: the query's id and question, within 512 bytes, readable by
// a client. Returns the addresses it hands out.
std::vector<in_addr_t> checkReply(const DnsOutcome& out, std::span<const uint8_t> packet, const PolicyConfig& c,
                                  AddressPool& pool) {
  auto header = dns::parseHeader(packet);
  if (!header || header->isResponse()) {
    FUZZ_CHECK(out.kind == DnsOutcome::Kind::Drop, "");
    return {};
  }
  if (out.kind != DnsOutcome::Kind::Reply) return {};
  FUZZ_CHECK(out.packet.size() >= dns::kHeaderSize, "");
  FUZZ_CHECK(idOf(out.packet) == header->id, "");
  FUZZ_CHECK((out.packet[2] & 0x80) != 0, "not a response");
  auto query = dns::parseQuery(packet);
  if (!query || header->opcode() != 0) return {};  // FORMERR and NOTIMP carry only a header
  FUZZ_CHECK(out.packet.size() <= dns::kMaxUdpPayload, std::to_string(out.packet.size()));
  auto answer = dns::parseResponse(out.packet, header->id, query->question.name, query->question.type);
  FUZZ_CHECK(answer.ok(), answer ? "" : answer.error().message());
  for (in_addr_t a : answer->addresses) {
    auto name = pool.nameFor(a);
    FUZZ_CHECK(classifyAddress(a) == AddressKind::Synthetic && name, formatAddress(a));
    auto asked = normalizeHostName(query->question.name);
    FUZZ_CHECK(asked && *asked == *name, *name);
    FUZZ_CHECK(c.mode == NetworkMode::Full || c.allowlist.allowsName(*name), *name);
  }
  return answer->addresses;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  uint8_t flags = in.byte();
  PolicyConfig c;
  c.mode = (flags & 1) ? NetworkMode::Allowlist : NetworkMode::Full;
  c.allowLocalDestinations = (flags & 2) != 0;
  uint8_t which = in.byte();
  const auto& listed = kAllowlists[which % kAllowlists.size()];
  c.allowlist = *Allowlist::parse(listed, kDerived[(flags >> 4) % kDerived.size()]);
  c.toolName = "fuzz";
  // The allowlist byte's top bit: the host's own addresses cannot be listed.
  bool unlisted = (which & 0x80) != 0;
  if (unlisted)
    c.hostAddresses = [] { return Result<std::vector<in_addr_t>>(Error::make("fuzz")); };
  else
    c.hostAddresses = [] { return Result<std::vector<in_addr_t>>(std::vector<in_addr_t>{kHostOwn}); };
  InputResolver resolver;
  resolver.hasCache = (flags & 8) != 0;
  resolver.answer.status = static_cast<Resolution::Status>(in.byte() % 4);
  for (int n = in.byte() % 5; n > 0; --n) resolver.answer.addresses.push_back(htonl(in.u32()));
  in_addr_t literal = htonl(in.u32());
  uint16_t port = in.u16();
  std::string_view rest = in.rest();
  std::span<const uint8_t> packet(reinterpret_cast<const uint8_t*>(rest.data()), rest.size());

  AddressPool pool;
  PolicyConfig copy = c;
  Policy policy(std::move(copy), pool, resolver);
  DnsOutcome out = policy.answerDns(packet, (flags & 4) != 0);
  FUZZ_CHECK(out.kind != DnsOutcome::Kind::NeedsUpstream || (flags & 4), "");
  std::vector<in_addr_t> destinations = checkReply(out, packet, c, pool);
  destinations.push_back(literal);
  destinations.push_back(*pool.addressFor("other.fuzz.test"));  // a name the policy never answered
  auto query = dns::parseQuery(packet);
  for (in_addr_t dst : destinations)
    checkVerdict(c, pool, policy.decideConnection(dst, port), dst, port, unlisted);

  // The same bytes as an upstream reply to our query for the question's name.
  std::string name = query ? query->question.name : "allowed.test";
  if (packet.size() >= 2) {
    auto answer = dns::parseResponse(packet, idOf(packet), name, dns::kTypeA);
    if (answer) FUZZ_CHECK(answer->addresses.size() * 16 <= packet.size(), "");
  }
  if (auto q = dns::buildQuery(port, name, dns::kTypeA)) {
    auto back = dns::parseQuery(*q);
    FUZZ_CHECK(back && dns::sameName(back->question.name, name) && back->id == port, name);
  }
  return 0;
}
