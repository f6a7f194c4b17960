// DNS wire format, the bounded subset: headers, names with compression, one
// question, A records.
#include "net/dns_message.hpp"

#include <algorithm>

namespace coco::net::dns {

namespace {

constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kFlagRecursionDesired = 0x0100;
constexpr uint16_t kFlagRecursionAvailable = 0x0080;
constexpr int kMaxPointerJumps = 32;

uint16_t get16(std::span<const uint8_t> p, size_t at) {
  return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}

uint32_t get32(std::span<const uint8_t> p, size_t at) {
  return (uint32_t{p[at]} << 24) | (uint32_t{p[at + 1]} << 16) | (uint32_t{p[at + 2]} << 8) | p[at + 3];
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

bool plainLabelByte(uint8_t c) { return c > 0x20 && c < 0x7f && c != '.' && c != '\\'; }

// Reads the name at `pos` and moves `pos` past it (past the first pointer when
// compressed). Every pointer must go strictly before the start of the run of
// labels that led to it, so each jump lands earlier than the last and loops are
// impossible; the jump count is a second fence. When
// `out` is null the name is only validated.
Status readName(std::span<const uint8_t> p, size_t& pos, std::string* out) {
  size_t at = pos;
  size_t runStart = pos;
  size_t wire = 0;
  int jumps = 0;
  bool jumped = false;
  if (out) out->clear();
  for (;;) {
    if (at >= p.size()) return Error::make("DNS name runs past the packet");
    uint8_t len = p[at];
    if ((len & 0xc0) == 0xc0) {
      if (at + 1 >= p.size()) return Error::make("DNS pointer runs past the packet");
      size_t target = ((len & 0x3fu) << 8) | p[at + 1];
      if (target < kHeaderSize) return Error::make("DNS pointer into the header");
      if (target >= runStart || ++jumps > kMaxPointerJumps) return Error::make("DNS pointer loops");
      if (!jumped) pos = at + 2;
      jumped = true;
      at = runStart = target;
      continue;
    }
    if (len & 0xc0) return Error::make("DNS label type {:#x} unsupported", len & 0xc0);
    wire += len + 1u;
    if (wire > kMaxNameWire) return Error::make("DNS name longer than 255 bytes");
    if (len == 0) break;
    if (at + 1 + len > p.size()) return Error::make("DNS label runs past the packet");
    if (out) {
      if (!out->empty()) out->push_back('.');
      for (size_t i = at + 1; i <= at + len; ++i) {
        if (!plainLabelByte(p[i])) return Error::make("DNS label holds a byte {:#x}", p[i]);
        out->push_back(static_cast<char>(p[i]));
      }
    }
    at += len + 1u;
  }
  if (!jumped) pos = at + 1;
  return okStatus();
}

Status writeName(std::vector<uint8_t>& out, const std::string& name) {
  size_t start = 0;
  size_t wire = 1;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    size_t len = dot - start;
    if (len == 0 || len > 63) return Error::make("bad DNS name '{}'", name);
    wire += len + 1;
    if (wire > kMaxNameWire) return Error::make("DNS name '{}' too long", name);
    out.push_back(static_cast<uint8_t>(len));
    out.insert(out.end(), name.begin() + static_cast<ptrdiff_t>(start), name.begin() + static_cast<ptrdiff_t>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return okStatus();
}

void writeHeader(std::vector<uint8_t>& out, const Header& h) {
  put16(out, h.id);
  put16(out, h.flags);
  put16(out, h.qdcount);
  put16(out, h.ancount);
  put16(out, h.nscount);
  put16(out, h.arcount);
}

uint16_t replyFlags(uint16_t queryFlags, Rcode rcode) {
  uint16_t opcodeBits = queryFlags & 0x7800;
  return static_cast<uint16_t>(kFlagResponse | opcodeBits | (queryFlags & kFlagRecursionDesired) |
                               kFlagRecursionAvailable | static_cast<uint16_t>(rcode));
}

Result<Question> readQuestion(std::span<const uint8_t> p, size_t& pos) {
  Question q;
  COCO_TRY(readName(p, pos, &q.name));
  if (pos + 4 > p.size()) return Error::make("DNS question runs past the packet");
  q.type = get16(p, pos);
  q.qclass = get16(p, pos + 2);
  pos += 4;
  return q;
}

// Skips one resource record, returning its type/class/ttl and rdata bounds.
struct Record {
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  size_t rdata = 0;
  uint16_t rdlength = 0;
};

Result<Record> readRecord(std::span<const uint8_t> p, size_t& pos) {
  COCO_TRY(readName(p, pos, nullptr));
  if (pos + 10 > p.size()) return Error::make("DNS record runs past the packet");
  Record r;
  r.type = get16(p, pos);
  r.rclass = get16(p, pos + 2);
  r.ttl = get32(p, pos + 4);
  r.rdlength = get16(p, pos + 8);
  r.rdata = pos + 10;
  if (r.rdata + r.rdlength > p.size()) return Error::make("DNS record data runs past the packet");
  pos = r.rdata + r.rdlength;
  return r;
}

}  // namespace

bool sameName(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

Result<Header> parseHeader(std::span<const uint8_t> p) {
  if (p.size() < kHeaderSize) return Error::make("DNS packet shorter than its header");
  return Header{get16(p, 0), get16(p, 2), get16(p, 4), get16(p, 6), get16(p, 8), get16(p, 10)};
}

Result<Query> parseQuery(std::span<const uint8_t> p) {
  COCO_ASSIGN(Header h, parseHeader(p));
  if (h.isResponse()) return Error::make("DNS packet is a response");
  if (h.qdcount != 1) return Error::make("DNS query has {} questions", h.qdcount);
  size_t pos = kHeaderSize;
  COCO_ASSIGN(Question q, readQuestion(p, pos));
  return Query{h.id, h.flags, std::move(q)};
}

std::vector<uint8_t> buildResponse(const Query& query, Rcode rcode, const std::vector<in_addr_t>& addresses,
                                   uint32_t ttl) {
  std::vector<uint8_t> out;
  out.reserve(kHeaderSize + query.question.name.size() + 6 + addresses.size() * 16);
  Header h{query.id, replyFlags(query.flags, rcode), 1, static_cast<uint16_t>(addresses.size()), 0, 0};
  writeHeader(out, h);
  if (!writeName(out, query.question.name)) {
    // Parsed names always re-encode; this is a fence, not a path.
    return buildHeaderOnlyResponse(Header{query.id, query.flags}, Rcode::FormErr);
  }
  put16(out, query.question.type);
  put16(out, query.question.qclass);
  for (in_addr_t a : addresses) {
    put16(out, 0xc000 | kHeaderSize);  // the question's name
    put16(out, kTypeA);
    put16(out, kClassIn);
    put32(out, ttl);
    put16(out, 4);
    const auto* b = reinterpret_cast<const uint8_t*>(&a);  // already network order
    out.insert(out.end(), b, b + 4);
  }
  return out;
}

std::vector<uint8_t> buildHeaderOnlyResponse(const Header& header, Rcode rcode) {
  std::vector<uint8_t> out;
  writeHeader(out, Header{header.id, replyFlags(header.flags, rcode), 0, 0, 0, 0});
  return out;
}

Result<std::vector<uint8_t>> buildQuery(uint16_t id, const std::string& name, uint16_t type) {
  std::vector<uint8_t> out;
  writeHeader(out, Header{id, kFlagRecursionDesired, 1, 0, 0, 0});
  COCO_TRY(writeName(out, name));
  put16(out, type);
  put16(out, kClassIn);
  return out;
}

Result<Answer> parseResponse(std::span<const uint8_t> p, uint16_t id, const std::string& name, uint16_t type) {
  COCO_ASSIGN(Header h, parseHeader(p));
  if (!h.isResponse() || h.id != id) return Error::make("DNS reply does not answer our query");
  Answer ans;
  ans.rcode = h.rcode();
  ans.truncated = h.truncated();
  size_t pos = kHeaderSize;
  if (h.qdcount != 1) return Error::make("DNS reply has {} questions", h.qdcount);
  COCO_ASSIGN(Question q, readQuestion(p, pos));
  if (!sameName(q.name, name) || q.type != type) return Error::make("DNS reply answers another question");
  bool first = true;
  for (uint16_t i = 0; i < h.ancount; ++i) {
    COCO_ASSIGN(Record r, readRecord(p, pos));
    if (r.rclass != kClassIn) continue;
    ans.minTtl = first ? r.ttl : std::min(ans.minTtl, r.ttl);
    first = false;
    if (r.type == kTypeA && r.rdlength == 4) {
      in_addr_t a;
      std::copy_n(p.begin() + static_cast<ptrdiff_t>(r.rdata), 4, reinterpret_cast<uint8_t*>(&a));
      ans.addresses.push_back(a);
    }
  }
  return ans;
}

std::vector<uint8_t> tcpFramed(std::span<const uint8_t> message) {
  std::vector<uint8_t> out(message.size() + 2);
  out[0] = static_cast<uint8_t>(message.size() >> 8);
  out[1] = static_cast<uint8_t>(message.size());
  std::copy(message.begin(), message.end(), out.begin() + 2);
  return out;
}

}  // namespace coco::net::dns
