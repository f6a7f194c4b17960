// Tests for the gateway's decisions, with a resolver the test controls.
#include "net/policy.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "net/dns_message.hpp"

namespace coco::net {
namespace {

class FakeResolver : public Resolver {
 public:
  std::map<std::string, Resolution> answers;
  std::vector<std::string> asked;
  bool hasCache = false;

  Resolution resolve(const std::string& name) override {
    asked.push_back(name);
    auto it = answers.find(name);
    if (it == answers.end()) return Resolution{Resolution::Status::NxDomain, {}};
    return it->second;
  }
  std::optional<Resolution> cached(const std::string& name) override {
    if (!hasCache) return std::nullopt;
    return resolve(name);
  }
};

Resolution ok(std::vector<const char*> addrs) {
  Resolution r{Resolution::Status::Ok, {}};
  for (const char* a : addrs) r.addresses.push_back(inet_addr(a));
  return r;
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    resolver.answers["allowed.test"] = ok({"192.0.2.10"});
    resolver.answers["www.allowed.test"] = ok({"192.0.2.11"});
    resolver.answers["local.allowed.test"] = ok({"127.0.0.1"});
    resolver.answers["metadata.allowed.test"] = ok({"169.254.169.254"});
    resolver.answers["internal.allowed.test"] = ok({"10.0.0.5"});
    resolver.answers["mixed.allowed.test"] = ok({"127.0.0.1", "192.0.2.12"});
    resolver.answers["empty.allowed.test"] = Resolution{Resolution::Status::NoData, {}};
    resolver.answers["other.test"] = ok({"192.0.2.20"});
  }

  Policy make(NetworkMode mode, std::vector<std::string> hosts = {"allowed.test", "ssh.allowed.test:22"},
              std::vector<std::string> derived = {}, bool allowLocal = false, bool installPhase = false) {
    PolicyConfig c;
    c.installPhase = installPhase;
    c.mode = mode;
    c.allowlist = *Allowlist::parse(hosts, derived);
    c.allowLocalDestinations = allowLocal;
    c.toolName = "tool";
    c.hostAddresses = [] { return std::vector<in_addr_t>{inet_addr("192.0.2.99")}; };
    return Policy(std::move(c), pool, resolver);
  }

  dns::Answer ask(Policy& p, const std::string& name, uint16_t type, bool cacheOnly = false) {
    auto q = *dns::buildQuery(77, name, type);
    DnsOutcome out = p.answerDns(q, cacheOnly);
    EXPECT_EQ(out.kind, DnsOutcome::Kind::Reply);
    auto a = dns::parseResponse(out.packet, 77, name, type);
    EXPECT_TRUE(a) << a.error().describe();
    return a ? *a : dns::Answer{};
  }

  AddressPool pool;
  FakeResolver resolver;
};

TEST_F(PolicyTest, AllowedNameGetsSyntheticAddress) {
  Policy p = make(NetworkMode::Allowlist);
  auto a = ask(p, "WWW.allowed.test", dns::kTypeA);
  EXPECT_EQ(a.rcode, dns::Rcode::NoError);
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(classifyAddress(a.addresses[0]), AddressKind::Synthetic);
  EXPECT_EQ(pool.nameFor(a.addresses[0]), "www.allowed.test");
  EXPECT_EQ(a.minTtl, kSyntheticTtl);
  EXPECT_EQ(ask(p, "www.allowed.test", dns::kTypeA).addresses, a.addresses);
}

TEST_F(PolicyTest, DeniedNameIsNxDomainAndNeverAskedUpstream) {
  Policy p = make(NetworkMode::Allowlist);
  for (uint16_t type : {dns::kTypeA, dns::kTypeAaaa, uint16_t{16}, uint16_t{65}}) {
    EXPECT_EQ(ask(p, "other.test", type).rcode, dns::Rcode::NxDomain);
  }
  EXPECT_TRUE(resolver.asked.empty());
}

// The notice says how to open the name: allowed_hosts for a run; for an
// install, install_hosts or COCO_INSTALL_NETWORK=host (allowed_hosts would open
// it to every run, and with network: none it is not even accepted).
TEST_F(PolicyTest, ARefusalSaysHowToAllowItForARunAndForAnInstall) {
  for (bool install : {false, true}) {
    Policy p = make(NetworkMode::Allowlist, {"allowed.test"}, {}, false, install);
    testing::internal::CaptureStderr();
    ask(p, "other.test", dns::kTypeA);
    EXPECT_FALSE(p.decideConnection(inet_addr("192.0.2.20"), 443).allowed);
    EXPECT_FALSE(p.decideConnection(pool.addressFor("allowed.test").value(), 22).allowed);
    std::string said = testing::internal::GetCapturedStderr();
    for (const char* what : {"blocked lookup of other.test", "blocked connection to 192.0.2.20:443",
                             "blocked connection to allowed.test:22"})
      EXPECT_NE(said.find(what), std::string::npos) << what << " in:\n" << said;
    if (install) {
      EXPECT_NE(said.find("add \"other.test\" to install_hosts"), std::string::npos) << said;
      EXPECT_NE(said.find("add \"allowed.test:22\" to install_hosts"), std::string::npos) << said;
      EXPECT_NE(said.find("COCO_INSTALL_NETWORK=host"), std::string::npos) << said;
      EXPECT_EQ(said.find("allowed_hosts"), std::string::npos) << said;
    } else {
      EXPECT_NE(said.find("not in allowed_hosts of tool; add \"other.test\""), std::string::npos) << said;
      EXPECT_EQ(said.find("install_hosts"), std::string::npos) << said;
    }
  }
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A tool flooding the gateway with distinct refused names and addresses gets
// kMaxNotices notices and one line saying the rest are not listed, however
// many it asks for; the traffic log (coco run --learn) still records them all.
TEST_F(PolicyTest, ManyDistinctRefusalsGetABoundedNumberOfNotices) {
  TrafficLog traffic;
  PolicyConfig c;
  c.mode = NetworkMode::Allowlist;
  c.allowlist = *Allowlist::parse({"allowed.test"}, {});
  c.toolName = "tool";
  c.traffic = &traffic;
  Policy p(std::move(c), pool, resolver);
  testing::internal::CaptureStderr();
  for (int i = 0; i < 3 * static_cast<int>(kMaxNotices); ++i) {
    ask(p, fmt::format("random{}.test", i), dns::kTypeA);
    EXPECT_FALSE(p.decideConnection(htonl(0xc0000200 + i % 256), static_cast<uint16_t>(1000 + i)).allowed);
  }
  ask(p, "random0.test", dns::kTypeA);
  std::string said = testing::internal::GetCapturedStderr();
  EXPECT_EQ(count(said, "blocked lookup of "), kMaxNotices / 2) << said;
  EXPECT_EQ(count(said, "blocked connection to "), kMaxNotices / 2) << said;
  EXPECT_EQ(count(said, "further blocked lookups and connections are not listed (COCO_DEBUG=1 shows each)"), 1u)
      << said;
  EXPECT_EQ(count(said, "\n"), kMaxNotices + 1) << said;
  EXPECT_EQ(traffic.lookups().size(), 3 * kMaxNotices);
  EXPECT_EQ(traffic.destinations().size(), 3 * kMaxNotices);
}

TEST_F(PolicyTest, NonexistentAllowedNameIsNxDomain) {
  Policy p = make(NetworkMode::Allowlist);
  EXPECT_EQ(ask(p, "nope.allowed.test", dns::kTypeA).rcode, dns::Rcode::NxDomain);
  EXPECT_EQ(ask(p, "nope.allowed.test", dns::kTypeAaaa).rcode, dns::Rcode::NxDomain);
  EXPECT_EQ(pool.size(), 0u);
}

TEST_F(PolicyTest, OtherTypesOfExistingNamesAreNoData) {
  Policy p = make(NetworkMode::Allowlist);
  for (uint16_t type : {dns::kTypeAaaa, uint16_t{15}, uint16_t{16}, uint16_t{33}, uint16_t{65}}) {
    auto a = ask(p, "allowed.test", type);
    EXPECT_EQ(a.rcode, dns::Rcode::NoError) << type;
    EXPECT_TRUE(a.addresses.empty());
  }
  auto empty = ask(p, "empty.allowed.test", dns::kTypeA);
  EXPECT_EQ(empty.rcode, dns::Rcode::NoError);
  EXPECT_TRUE(empty.addresses.empty());
}

TEST_F(PolicyTest, FullModeAllowsEveryName) {
  Policy p = make(NetworkMode::Full, {});
  auto a = ask(p, "other.test", dns::kTypeA);
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_TRUE(p.decideConnection(a.addresses[0], 5432).allowed);
}

TEST_F(PolicyTest, CacheOnlyDefersToUpstream) {
  Policy p = make(NetworkMode::Allowlist);
  auto q = *dns::buildQuery(1, "allowed.test", dns::kTypeA);
  EXPECT_EQ(p.answerDns(q, true).kind, DnsOutcome::Kind::NeedsUpstream);
  auto denied = *dns::buildQuery(1, "other.test", dns::kTypeA);
  EXPECT_EQ(p.answerDns(denied, true).kind, DnsOutcome::Kind::Reply);
}

TEST_F(PolicyTest, MalformedAndOddQueries) {
  Policy p = make(NetworkMode::Allowlist);
  EXPECT_EQ(p.answerDns(std::vector<uint8_t>{1, 2, 3}, false).kind, DnsOutcome::Kind::Drop);
  auto q = *dns::buildQuery(1, "allowed.test", dns::kTypeA);
  auto response = q;
  response[2] |= 0x80;
  EXPECT_EQ(p.answerDns(response, false).kind, DnsOutcome::Kind::Drop);
  auto notify = q;
  notify[2] |= 0x20;  // opcode 4
  auto out = p.answerDns(notify, false);
  ASSERT_EQ(out.kind, DnsOutcome::Kind::Reply);
  EXPECT_EQ(dns::parseHeader(out.packet)->rcode(), dns::Rcode::NotImp);
  auto cut = q;
  cut.resize(cut.size() - 3);
  out = p.answerDns(cut, false);
  ASSERT_EQ(out.kind, DnsOutcome::Kind::Reply);
  EXPECT_EQ(dns::parseHeader(out.packet)->rcode(), dns::Rcode::FormErr);
  EXPECT_EQ(ask(p, "1.2.0.192.in-addr.arpa", dns::kTypePtr).rcode, dns::Rcode::NxDomain);
  EXPECT_TRUE(resolver.asked.empty());
}

TEST_F(PolicyTest, ConnectionToAllowedNameAndPort) {
  Policy p = make(NetworkMode::Allowlist);
  in_addr_t syn = ask(p, "www.allowed.test", dns::kTypeA).addresses.at(0);
  Verdict v = p.decideConnection(syn, 443);
  ASSERT_TRUE(v.allowed);
  EXPECT_EQ(v.label, "www.allowed.test:443");
  ASSERT_EQ(v.targets.size(), 1u);
  EXPECT_EQ(v.targets[0].sin_addr.s_addr, inet_addr("192.0.2.11"));
  EXPECT_EQ(ntohs(v.targets[0].sin_port), 443);
  EXPECT_FALSE(p.decideConnection(syn, 22).allowed);
}

TEST_F(PolicyTest, PortEntry) {
  resolver.answers["ssh.allowed.test"] = ok({"192.0.2.30"});
  Policy p = make(NetworkMode::Allowlist, {"ssh.allowed.test:22"});
  in_addr_t syn = ask(p, "ssh.allowed.test", dns::kTypeA).addresses.at(0);
  EXPECT_TRUE(p.decideConnection(syn, 22).allowed);
  EXPECT_FALSE(p.decideConnection(syn, 443).allowed);
}

TEST_F(PolicyTest, LiteralAddressesInAllowlistMode) {
  Policy p = make(NetworkMode::Allowlist, {"allowed.test", "192.0.2.50:8080"});
  EXPECT_FALSE(p.decideConnection(inet_addr("192.0.2.10"), 443).allowed);
  EXPECT_TRUE(p.decideConnection(inet_addr("192.0.2.50"), 8080).allowed);
  EXPECT_FALSE(p.decideConnection(inet_addr("192.0.2.50"), 80).allowed);
  // A synthetic address nobody looked up has no name.
  EXPECT_FALSE(p.decideConnection(inet_addr("198.18.7.7"), 443).allowed);
}

TEST_F(PolicyTest, LocalDestinationsAreRefused) {
  Policy p = make(NetworkMode::Allowlist);
  for (const char* name : {"local.allowed.test", "metadata.allowed.test"}) {
    in_addr_t syn = ask(p, name, dns::kTypeA).addresses.at(0);
    EXPECT_FALSE(p.decideConnection(syn, 443).allowed) << name;
  }
  // A name is no licence for a private address: only the address written
  // as a literal entry is (UserLiteralOpensItsAddressToNamesToo).
  in_addr_t internal = ask(p, "internal.allowed.test", dns::kTypeA).addresses.at(0);
  EXPECT_FALSE(p.decideConnection(internal, 443).allowed);
  // Loopback addresses are filtered out of a mixed answer.
  in_addr_t mixed = ask(p, "mixed.allowed.test", dns::kTypeA).addresses.at(0);
  Verdict v = p.decideConnection(mixed, 443);
  ASSERT_TRUE(v.allowed);
  ASSERT_EQ(v.targets.size(), 1u);
  EXPECT_EQ(v.targets[0].sin_addr.s_addr, inet_addr("192.0.2.12"));
}

TEST_F(PolicyTest, FullModeRefusesLocalPrivateAndHostOwnLiterals) {
  Policy p = make(NetworkMode::Full, {});
  EXPECT_TRUE(p.decideConnection(inet_addr("192.0.2.10"), 443).allowed);
  for (const char* a : {"10.0.0.1", "192.168.0.1", "169.254.169.254", "192.0.2.99", "0.0.0.0", "224.0.0.1"}) {
    EXPECT_FALSE(p.decideConnection(inet_addr(a), 443).allowed) << a;
  }
  in_addr_t internal = ask(p, "internal.allowed.test", dns::kTypeA).addresses.at(0);
  EXPECT_FALSE(p.decideConnection(internal, 443).allowed);
}

// Every address an allowed name may not lead to, in allowlist and full mode:
// CGNAT (Tailscale, carrier NAT), cloud metadata (AWS, GCP, Azure, ECS,
// Alibaba), link-local, private, loopback, unspecified, multicast,
// broadcast, reserved, the gateway's own pool and the host's own addresses.
constexpr const char* kLocalAddresses[] = {
    "100.64.1.1",      "100.127.255.254", "100.100.100.200", "169.254.169.254", "169.254.170.2",
    "168.63.129.16",   "169.254.1.1",     "10.0.0.5",        "172.16.0.1",      "192.168.1.1",
    "127.0.0.1",       "127.1.2.3",       "0.0.0.0",         "224.0.0.1",       "239.255.255.250",
    "255.255.255.255", "240.0.0.1",       "198.18.0.9",      "192.0.2.99",
};

// Each kind in its IPv4 spelling and in the IPv6 forms that carry or mean
// the same place: mapped, translated, compatible, NAT64, 6to4, Teredo.
TEST(AddressKinds, V4AndV6Forms) {
  struct Case {
    const char* literal;
    AddressKind kind;
  } cases[] = {
      {"192.0.2.1", AddressKind::Public},
      {"2606:4700::1111", AddressKind::Public},
      {"::ffff:192.0.2.1", AddressKind::Public},
      {"64:ff9b::192.0.2.1", AddressKind::Public},
      {"2002:c000:201::1", AddressKind::Public},
      {"0.0.0.0", AddressKind::Unspecified},
      {"::", AddressKind::Unspecified},
      {"::ffff:0.0.0.0", AddressKind::Unspecified},
      {"127.0.0.1", AddressKind::Loopback},
      {"::1", AddressKind::Loopback},
      {"::ffff:127.0.0.1", AddressKind::Loopback},
      {"::127.0.0.1", AddressKind::Loopback},
      {"64:ff9b::127.0.0.1", AddressKind::Loopback},
      {"2002:7f00:1::", AddressKind::Loopback},
      {"169.254.1.1", AddressKind::LinkLocal},
      {"fe80::1", AddressKind::LinkLocal},
      {"::ffff:169.254.1.1", AddressKind::LinkLocal},
      {"169.254.169.254", AddressKind::Metadata},
      {"169.254.170.2", AddressKind::Metadata},
      {"100.100.100.200", AddressKind::Metadata},
      {"168.63.129.16", AddressKind::Metadata},
      {"fd00:ec2::254", AddressKind::Metadata},
      {"[fd00:ec2::254]", AddressKind::Metadata},
      {"::ffff:169.254.169.254", AddressKind::Metadata},
      {"::ffff:a9fe:a9fe", AddressKind::Metadata},
      {"::ffff:0:169.254.169.254", AddressKind::Metadata},
      {"64:ff9b::169.254.169.254", AddressKind::Metadata},
      {"2002:a9fe:a9fe::1", AddressKind::Metadata},
      {"100.64.1.1", AddressKind::SharedCgnat},
      {"100.127.255.254", AddressKind::SharedCgnat},
      {"::ffff:100.64.1.1", AddressKind::SharedCgnat},
      {"2002:6440:101::", AddressKind::SharedCgnat},
      {"10.0.0.1", AddressKind::Private},
      {"172.16.0.1", AddressKind::Private},
      {"192.168.1.1", AddressKind::Private},
      {"fc00::1", AddressKind::Private},
      {"fd12:3456::1", AddressKind::Private},
      {"fec0::1", AddressKind::Private},
      {"64:ff9b:1::a00:1", AddressKind::Private},
      {"::ffff:10.0.0.1", AddressKind::Private},
      {"2002:a00:1::", AddressKind::Private},
      {"2001:0:c000:201::f5ff:fffe", AddressKind::Private},  // Teredo, client 10.0.0.1
      {"2001:0:a00:1::3fff:fdd2", AddressKind::Private},     // Teredo, server 10.0.0.1
      {"224.0.0.1", AddressKind::Multicast},
      {"ff02::1", AddressKind::Multicast},
      {"::ffff:224.0.0.251", AddressKind::Multicast},
      {"255.255.255.255", AddressKind::Reserved},
      {"240.0.0.1", AddressKind::Reserved},
      {"192.0.0.8", AddressKind::Reserved},
      {"100::1", AddressKind::Reserved},
      {"::192.0.2.1", AddressKind::Reserved},  // IPv4-compatible, deprecated
      {"198.18.0.1", AddressKind::Synthetic},
      {"::ffff:198.18.0.1", AddressKind::Synthetic},
  };
  for (const auto& c : cases) {
    auto kind = classifyLiteral(c.literal);
    ASSERT_TRUE(kind) << c.literal;
    EXPECT_EQ(*kind, c.kind) << c.literal << ": " << addressKindName(*kind) << ", want " << addressKindName(c.kind);
  }
  for (const char* notLiteral : {"example.com", "", "[]", "1.2.3", "::ffff:1.2.3.4.5", "[192.0.2.1"})
    EXPECT_FALSE(classifyLiteral(notLiteral)) << notLiteral;
}

TEST_F(PolicyTest, NamesLeadingToLocalAddressesAreRefused) {
  for (NetworkMode mode : {NetworkMode::Allowlist, NetworkMode::Full}) {
    for (const char* address : kLocalAddresses) {
      resolver.answers["x.allowed.test"] = ok({address});
      Policy p = make(mode, {"allowed.test"});
      in_addr_t syn = ask(p, "x.allowed.test", dns::kTypeA).addresses.at(0);
      EXPECT_FALSE(p.decideConnection(syn, 443).allowed) << address << (mode == NetworkMode::Full ? " full" : " allowlist");
    }
  }
}

TEST_F(PolicyTest, UserLiteralOpensItsAddressToNamesToo) {
  // An internal registry: the user names it and writes its address.
  Policy p = make(NetworkMode::Allowlist, {"internal.allowed.test", "10.0.0.5:443"});
  in_addr_t syn = ask(p, "internal.allowed.test", dns::kTypeA).addresses.at(0);
  EXPECT_TRUE(p.decideConnection(syn, 443).allowed);
  EXPECT_FALSE(p.decideConnection(syn, 80).allowed);  // the literal is for 443 only
  // Derived by coco, the same literal opens nothing.
  Policy derived = make(NetworkMode::Allowlist, {"internal.allowed.test"}, {"10.0.0.5:443"});
  syn = ask(derived, "internal.allowed.test", dns::kTypeA).addresses.at(0);
  EXPECT_FALSE(derived.decideConnection(syn, 443).allowed);
}

// F4: an image's apt sources (or a project's .npmrc read by the host's npm)
// name a literal address; derived, it must not open what a user's literal may.
TEST_F(PolicyTest, DerivedLiteralEntriesKeepTheAddressChecks) {
  Policy p = make(NetworkMode::Allowlist, {"169.254.169.254:80", "10.9.9.9:8080"},
                  {"169.254.169.254:443", "10.0.0.1:8080", "0.0.0.0:2375", "100.100.100.200:80", "127.0.0.1:80",
                   "192.0.2.99:80", "192.0.2.60:8080"});
  for (const char* refused : {"169.254.169.254:443", "10.0.0.1:8080", "0.0.0.0:2375", "100.100.100.200:80",
                              "127.0.0.1:80", "192.0.2.99:80"}) {
    std::string text(refused);
    size_t colon = text.find(':');
    auto port = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
    EXPECT_FALSE(p.decideConnection(inet_addr(text.substr(0, colon).c_str()), port).allowed) << refused;
  }
  EXPECT_TRUE(p.decideConnection(inet_addr("192.0.2.60"), 8080).allowed);  // a public one is fine
  // The user's own literals: their choice, metadata included.
  EXPECT_TRUE(p.decideConnection(inet_addr("169.254.169.254"), 80).allowed);
  EXPECT_TRUE(p.decideConnection(inet_addr("10.9.9.9"), 8080).allowed);
}

TEST_F(PolicyTest, NoEntryOpensUnspecifiedMulticastOrTheGatewaysPool) {
  Policy p = make(NetworkMode::Allowlist, {"0.0.0.0:2375", "224.0.0.1:80", "255.255.255.255:80", "198.18.0.1:80"});
  EXPECT_FALSE(p.decideConnection(inet_addr("0.0.0.0"), 2375).allowed);
  EXPECT_FALSE(p.decideConnection(inet_addr("224.0.0.1"), 80).allowed);
  EXPECT_FALSE(p.decideConnection(inet_addr("255.255.255.255"), 80).allowed);
  EXPECT_FALSE(p.decideConnection(inet_addr("198.18.0.1"), 80).allowed);
}

// The tests' switch (their servers listen on the host's loopback) opens
// loopback, private and the host's own addresses, never metadata,
// link-local or CGNAT.
TEST_F(PolicyTest, AllowLocalDestinationsKeepsMetadataLinkLocalAndCgnatShut) {
  Policy p = make(NetworkMode::Allowlist, {"allowed.test"}, {}, /*allowLocal=*/true);
  for (const char* address : {"169.254.169.254", "169.254.170.2", "169.254.1.1", "100.64.1.1", "100.100.100.200"}) {
    std::string name = "at-" + std::string(address) + ".allowed.test";
    resolver.answers[name] = ok({address});
    in_addr_t syn = ask(p, name, dns::kTypeA).addresses.at(0);
    EXPECT_FALSE(p.decideConnection(syn, 443).allowed) << address;
  }
  // What it is for: loopback, private and the host's own addresses.
  resolver.answers["own.allowed.test"] = ok({"192.0.2.99"});
  for (const char* name : {"local.allowed.test", "internal.allowed.test", "own.allowed.test"}) {
    in_addr_t syn = ask(p, name, dns::kTypeA).addresses.at(0);
    EXPECT_TRUE(p.decideConnection(syn, 443).allowed) << name;
  }
}

}  // namespace
}  // namespace coco::net

namespace coco::net {
namespace {

// Attack first: the names and destinations are the tool's to choose, and a learn run is in full
// mode. One that looks up or connects to endless distinct names must not grow coco's memory on
// the host without bound: the first kMaxEntries of each are kept, the rest only counted, and what
// is kept still takes its latest verdict.
TEST(TrafficLogTest, KeepsTheFirstNamesAndDestinationsAndCountsTheRest) {
  TrafficLog traffic;
  const size_t n = TrafficLog::kMaxEntries;
  for (size_t i = 0; i < n + 500; ++i) {
    traffic.lookup(fmt::format("name{}.test", i));
    traffic.connection({fmt::format("host{}.test", i), 443, false, true, ""});
  }
  traffic.lookup("name0.test");  // kept: asking again is not past the bound
  traffic.connection({"host1.test", 443, false, false, "a loopback address"});
  traffic.connection({"host1.test", 444, false, true, ""});  // a new destination: past it
  std::set<std::string> names = traffic.lookups();
  EXPECT_EQ(names.size(), n);
  EXPECT_TRUE(names.count("name0.test"));
  EXPECT_TRUE(names.count(fmt::format("name{}.test", n - 1)));
  EXPECT_FALSE(names.count(fmt::format("name{}.test", n)));
  EXPECT_EQ(traffic.unrecordedLookups(), 500u);
  auto d = traffic.destinations();
  EXPECT_EQ(d.size(), n);
  EXPECT_EQ(traffic.unrecordedConnections(), 501u);
  auto one = std::find_if(d.begin(), d.end(), [](const Destination& x) { return x.host == "host1.test"; });
  ASSERT_NE(one, d.end());
  EXPECT_EQ(one->port, 443);
  EXPECT_FALSE(one->allowed) << "the latest verdict of a kept destination still counts";
}

// Once the synthetic address pool is full, every new name fails the same way: a ServFail each,
// and one warning, not one per query (a tool asking name after name flooded stderr).
TEST_F(PolicyTest, AFullAddressPoolIsWarnedAboutOnce) {
  AddressPool small(0xc6120000, 30);  // 3 addresses
  PolicyConfig c;
  c.mode = NetworkMode::Full;
  c.toolName = "tool";
  Policy p(std::move(c), small, resolver);
  for (int i = 0; i < 8; ++i) resolver.answers[fmt::format("n{}.test", i)] = ok({"192.0.2.40"});
  testing::internal::CaptureStderr();
  std::vector<dns::Rcode> codes;
  for (int i = 0; i < 8; ++i) codes.push_back(ask(p, fmt::format("n{}.test", i), dns::kTypeA).rcode);
  std::string said = testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(codes.begin(), codes.end(), dns::Rcode::ServFail), 5);
  EXPECT_EQ(count(said, "synthetic address pool is exhausted"), 1u) << said;
}

// A query the event thread cannot answer from the cache (NeedsUpstream) is recorded there and
// asked again by a worker (recorded: true), which does not record it again: recorded twice, a
// learn run's count of lookups past the traffic log's bound doubled (review 53); recorded only
// by the worker, a query no worker was free to take was not recorded at all (review 54).
TEST_F(PolicyTest, AQueryAnsweredUpstreamIsRecordedOnce) {
  TrafficLog traffic;
  PolicyConfig c;
  c.mode = NetworkMode::Allowlist;
  c.allowlist = *Allowlist::parse({"other.test"}, {});
  c.toolName = "tool";
  c.traffic = &traffic;
  Policy p(std::move(c), pool, resolver);
  for (size_t i = 0; i < TrafficLog::kMaxEntries; ++i) traffic.lookup(fmt::format("filler{}.test", i));
  resolver.hasCache = false;
  auto q = *dns::buildQuery(77, "other.test", dns::kTypeA);
  EXPECT_EQ(p.answerDns(q, /*cacheOnly=*/true).kind, DnsOutcome::Kind::NeedsUpstream);
  EXPECT_EQ(traffic.unrecordedLookups(), 1u) << "not recorded before a worker takes it";
  DnsOutcome answered = p.answerDns(q, /*cacheOnly=*/false, /*recorded=*/true);
  EXPECT_EQ(answered.kind, DnsOutcome::Kind::Reply);
  EXPECT_EQ(traffic.unrecordedLookups(), 1u) << "recorded again by the worker";
  testing::internal::CaptureStderr();
  EXPECT_EQ(ask(p, "denied.test", dns::kTypeA, /*cacheOnly=*/true).rcode, dns::Rcode::NxDomain);
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(traffic.unrecordedLookups(), 2u);
}

// The gateway lists the host's own addresses (a netlink dump) at the policy's first decision about
// a public address, not when the run starts, where it slowed every networked start; once, and
// whichever thread asks first.
TEST_F(PolicyTest, TheHostsOwnAddressesAreListedOnceAtTheFirstDecisionThatNeedsThem) {
  int listed = 0;
  PolicyConfig c;
  c.mode = NetworkMode::Full;
  c.toolName = "tool";
  c.hostAddresses = [&listed] {
    ++listed;
    return std::vector<in_addr_t>{inet_addr("192.0.2.99")};
  };
  Policy p(std::move(c), pool, resolver);
  EXPECT_EQ(listed, 0);
  EXPECT_FALSE(p.decideConnection(inet_addr("10.0.0.1"), 443).allowed);
  EXPECT_EQ(listed, 0) << "a private address is refused without them";
  EXPECT_FALSE(p.decideConnection(inet_addr("192.0.2.99"), 443).allowed);
  EXPECT_EQ(listed, 1);
  EXPECT_TRUE(p.decideConnection(inet_addr("192.0.2.10"), 443).allowed);
  in_addr_t syn = ask(p, "allowed.test", dns::kTypeA).addresses.at(0);
  EXPECT_TRUE(p.decideConnection(syn, 443).allowed);
  EXPECT_EQ(listed, 1);
}

// Listing them can fail (no netlink in a locked-down host): any public address may then be the
// host's, so every one is refused, with one warning; the failure is not retried on every
// connection. A literal the user wrote opens its address still, and local test destinations
// are not affected.
TEST_F(PolicyTest, HostAddressesThatCannotBeListedRefuseEveryPublicDestination) {
  for (bool allowLocal : {false, true}) {
    int listed = 0;
    PolicyConfig c;
    c.mode = NetworkMode::Allowlist;
    c.allowlist = *Allowlist::parse({"allowed.test", "192.0.2.50:8080"}, {});
    c.allowLocalDestinations = allowLocal;
    c.toolName = "tool";
    c.hostAddresses = [&listed] {
      ++listed;
      return Result<std::vector<in_addr_t>>(Error::make("netlink socket: Permission denied"));
    };
    Policy p(std::move(c), pool, resolver);
    testing::internal::CaptureStderr();
    in_addr_t syn = ask(p, "allowed.test", dns::kTypeA).addresses.at(0);
    Verdict named = p.decideConnection(syn, 443);
    Verdict again = p.decideConnection(syn, 443);
    Verdict literal = p.decideConnection(inet_addr("192.0.2.50"), 8080);
    Verdict loopback = p.decideConnection(ask(p, "local.allowed.test", dns::kTypeA).addresses.at(0), 443);
    std::string said = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(named.allowed) << allowLocal;
    EXPECT_FALSE(again.allowed) << allowLocal;
    EXPECT_TRUE(literal.allowed) << allowLocal;
    EXPECT_EQ(loopback.allowed, allowLocal);
    EXPECT_EQ(listed, 1) << allowLocal;
    EXPECT_EQ(count(said, "listing the host's own addresses: netlink socket: Permission denied"), 1u) << said;
  }
}

// `coco run --learn`: every name asked and every connection decided is recorded with its
// verdict, the refused ones too; a decision still pending (cache only) is not.
TEST_F(PolicyTest, ATrafficLogRecordsLookupsAndEveryConnectionWithItsVerdict) {
  TrafficLog traffic;
  PolicyConfig c;
  c.mode = NetworkMode::Full;
  c.toolName = "tool";
  c.traffic = &traffic;
  c.hostAddresses = [] { return std::vector<in_addr_t>{}; };
  Policy p(std::move(c), pool, resolver);
  auto a = ask(p, "Allowed.TEST", dns::kTypeA);
  ASSERT_EQ(a.addresses.size(), 1u);
  ask(p, "local.allowed.test", dns::kTypeA);
  ask(p, "nosuch.test", dns::kTypeAaaa);
  EXPECT_TRUE(p.decideConnection(a.addresses[0], 443).allowed);
  EXPECT_TRUE(p.decideConnection(a.addresses[0], 8443).allowed);
  auto local = ask(p, "local.allowed.test", dns::kTypeA).addresses.at(0);
  EXPECT_FALSE(p.decideConnection(local, 80).allowed);
  EXPECT_TRUE(p.decideConnection(inet_addr("192.0.2.30"), 22).allowed);
  EXPECT_FALSE(p.decideConnection(inet_addr("169.254.169.254"), 80).allowed);
  resolver.hasCache = false;
  auto other = ask(p, "other.test", dns::kTypeA).addresses.at(0);
  EXPECT_TRUE(p.decideConnection(other, 443, /*cacheOnly=*/true).pending);

  EXPECT_EQ(traffic.lookups(), (std::set<std::string>{"allowed.test", "local.allowed.test", "nosuch.test",
                                                      "other.test"}));
  auto d = traffic.destinations();
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].host, "169.254.169.254");
  EXPECT_TRUE(d[0].literal);
  EXPECT_FALSE(d[0].allowed);
  EXPECT_NE(d[0].refusal.find("metadata"), std::string::npos) << d[0].refusal;
  EXPECT_EQ(d[1].host, "192.0.2.30");
  EXPECT_TRUE(d[1].literal && d[1].allowed);
  EXPECT_EQ(d[2].host, "allowed.test");
  EXPECT_EQ(d[2].port, 443);
  EXPECT_TRUE(!d[2].literal && d[2].allowed);
  EXPECT_EQ(d[3].port, 8443);
  EXPECT_EQ(d[4].host, "local.allowed.test");
  EXPECT_FALSE(d[4].allowed);
  EXPECT_NE(d[4].refusal.find("127.0.0.1"), std::string::npos) << d[4].refusal;
}

// In allowlist mode a refused name is recorded too (a learn run is in full mode, but the log does
// not depend on it).
TEST_F(PolicyTest, ATrafficLogRecordsNamesTheAllowlistRefuses) {
  TrafficLog traffic;
  PolicyConfig c;
  c.mode = NetworkMode::Allowlist;
  c.allowlist = *Allowlist::parse({"allowed.test"}, {});
  c.traffic = &traffic;
  Policy p(std::move(c), pool, resolver);
  EXPECT_EQ(ask(p, "other.test", dns::kTypeA).rcode, dns::Rcode::NxDomain);
  EXPECT_EQ(traffic.lookups(), std::set<std::string>{"other.test"});
  EXPECT_FALSE(p.decideConnection(inet_addr("192.0.2.40"), 443).allowed);
  auto d = traffic.destinations();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].refusal, "a literal address, not in allowed_hosts");
}

}  // namespace
}  // namespace coco::net
