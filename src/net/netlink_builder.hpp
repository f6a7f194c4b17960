// NetlinkBuilder: netlink messages written into a caller's fixed buffer, so the
// sandbox side can configure its netns without allocating between clone and exec.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace coco::net {

class NetlinkBuilder {
 public:
  NetlinkBuilder(char* buf, size_t cap) : buf_(buf), cap_(cap) {}

  // Starts a message; the header's length is fixed up by endMessage().
  void beginMessage(uint16_t type, uint16_t flags, uint32_t seq) {
    msgStart_ = len_;
    nlmsghdr hdr{};
    hdr.nlmsg_type = type;
    hdr.nlmsg_flags = flags;
    hdr.nlmsg_seq = seq;
    append(&hdr, sizeof hdr);
  }
  void endMessage() {
    if (overflow_) return;
    uint32_t msgLen = static_cast<uint32_t>(len_ - msgStart_);
    std::memcpy(buf_ + msgStart_, &msgLen, sizeof msgLen);
  }

  // Fixed family header right after nlmsghdr (rtmsg, nfgenmsg, ...).
  void putRaw(const void* data, size_t size) { append(data, size); }

  void putAttr(uint16_t type, const void* data, size_t size) {
    nlattr attr{};
    attr.nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
    attr.nla_type = type;
    append(&attr, sizeof attr);
    append(data, size);
  }
  void putString(uint16_t type, const char* s) { putAttr(type, s, std::strlen(s) + 1); }
  void putU32(uint16_t type, uint32_t v) { putAttr(type, &v, sizeof v); }
  // nftables wants its integers in network byte order.
  void putBe32(uint16_t type, uint32_t v) { putU32(type, __builtin_bswap32(v)); }

  size_t beginNest(uint16_t type) {
    size_t at = len_;
    nlattr attr{};
    attr.nla_type = static_cast<uint16_t>(type | NLA_F_NESTED);
    append(&attr, sizeof attr);
    return at;
  }
  void endNest(size_t at) {
    if (overflow_) return;
    uint16_t nestLen = static_cast<uint16_t>(len_ - at);
    std::memcpy(buf_ + at, &nestLen, sizeof nestLen);
  }

  bool overflow() const { return overflow_; }
  size_t size() const { return len_; }
  const char* data() const { return buf_; }

 private:
  void append(const void* data, size_t size) {
    size_t padded = NLMSG_ALIGN(size);
    if (overflow_ || cap_ - len_ < padded) {
      overflow_ = true;
      return;
    }
    std::memcpy(buf_ + len_, data, size);
    std::memset(buf_ + len_ + size, 0, padded - size);
    len_ += padded;
  }

  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  size_t msgStart_ = 0;
  bool overflow_ = false;
};

}  // namespace coco::net
