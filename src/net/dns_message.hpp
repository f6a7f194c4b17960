// The DNS subset the stub speaks: parse a query, build its answer, build an
// upstream query and read the upstream's answer. Bounded: every length and
// compression pointer in a packet is checked, never trusted.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace coco::net::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kTypeAny = 255;
inline constexpr uint16_t kClassIn = 1;

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;  // RFC 1035 2.3.4
inline constexpr size_t kMaxUdpPayload = 512;

enum class Rcode : uint8_t { NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5 };

struct Question {
  std::string name;  // dotted, as sent (case kept), no trailing dot; "" = root
  uint16_t type = 0;
  uint16_t qclass = 0;
};

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;
  Question question;
};

// The header fields a reply needs, readable even from a packet that is
// otherwise broken (so the stub can answer FORMERR).
struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;
  bool isResponse() const { return (flags & 0x8000) != 0; }
  uint8_t opcode() const { return static_cast<uint8_t>((flags >> 11) & 0xf); }
  bool truncated() const { return (flags & 0x0200) != 0; }
  Rcode rcode() const { return static_cast<Rcode>(flags & 0xf); }
};

Result<Header> parseHeader(std::span<const uint8_t> packet);

// A standard query with exactly one question. Trailing records (EDNS OPT) are
// not interpreted.
Result<Query> parseQuery(std::span<const uint8_t> packet);

// The reply to `query`: same id, opcode and RD, RA set, the question echoed and
// one A record per address (owner = the question's name).
std::vector<uint8_t> buildResponse(const Query& query, Rcode rcode,
                                   const std::vector<in_addr_t>& addresses = {}, uint32_t ttl = 0);

// A reply carrying only a header (for a packet whose question is unreadable).
std::vector<uint8_t> buildHeaderOnlyResponse(const Header& header, Rcode rcode);

// A recursive query for name/type (name dotted, no trailing dot needed).
Result<std::vector<uint8_t>> buildQuery(uint16_t id, const std::string& name, uint16_t type);

struct Answer {
  Rcode rcode = Rcode::NoError;
  bool truncated = false;
  std::vector<in_addr_t> addresses;  // every IN A record in the answer section
  uint32_t minTtl = 0;               // over the answer records; 0 when none
};

// Reads an upstream reply, which must answer `id` and the question name/type.
Result<Answer> parseResponse(std::span<const uint8_t> packet, uint16_t id, const std::string& name,
                             uint16_t type);

// A message as DNS over TCP carries it: its length in two bytes, then the message
// (at most 65535 bytes; the caller's messages are).
std::vector<uint8_t> tcpFramed(std::span<const uint8_t> message);

// Case-insensitive name comparison (ASCII only, as DNS defines it).
bool sameName(const std::string& a, const std::string& b);

}  // namespace coco::net::dns
