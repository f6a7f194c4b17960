// Parsing of image references (docker/distribution grammar, plus coco's transports).
#include "image/reference.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "util/host_port.hpp"

namespace coco::image {

namespace {

constexpr std::string_view kDockerHub = "docker.io";

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component of a repository: [a-z0-9]+ joined by ".", "_", "__" or "-"+.
bool validComponent(std::string_view c) {
  if (c.empty() || !isLowerAlnum(c.front()) || !isLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    if (isLowerAlnum(c[i])) continue;
    if (c[i] == '-') continue;  // runs of dashes are allowed
    if (c[i] == '.' || c[i] == '_') {
      bool doubleUnderscore = c[i] == '_' && i + 1 < c.size() && c[i + 1] == '_';
      if (doubleUnderscore) ++i;
      if (!isLowerAlnum(c[i + 1])) return false;
      continue;
    }
    return false;
  }
  return true;
}

// "host", "host:port", "[v6]:port", "localhost": what may precede the first '/'.
bool looksLikeRegistry(std::string_view first) {
  return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
         first == "localhost";
}

// A host and an optional port in util/host_port's grammar ("rootfs:" with an
// empty port would make canonical() read back as a rootfs source).
bool validRegistry(std::string_view r) {
  if (r.empty() || !splitHostPort(r)) return false;
  for (char c : r)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']')
      return false;
  return true;
}

Result<Reference> parseRegistry(std::string_view original, std::string_view text) {
  Reference ref;
  ref.kind = SourceKind::Registry;
  ref.original = std::string(original);
  std::string_view name = text;
  if (auto at = text.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(text.substr(at + 1));
    name = text.substr(0, at);
    if (!isSha256Digest(ref.digest))
      return Error::make("image {}: bad digest '{}' (want sha256: and 64 lowercase hex digits)", original, ref.digest);
  }
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(name.substr(colon + 1));
    name = name.substr(0, colon);
    if (!isValidTag(ref.tag)) return Error::make("image {}: bad tag '{}'", original, ref.tag);
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  auto first = name.find('/');
  if (first != std::string_view::npos && looksLikeRegistry(name.substr(0, first))) {
    ref.registry = std::string(name.substr(0, first));
    name = name.substr(first + 1);
    if (!validRegistry(ref.registry)) return Error::make("image {}: bad registry '{}'", original, ref.registry);
  } else {
    ref.registry = std::string(kDockerHub);
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") ref.registry = kDockerHub;
  ref.repository = std::string(name);
  if (ref.registry == kDockerHub && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.repository.empty()) return Error::make("image {}: no repository name", original);
  size_t start = 0;
  while (start <= ref.repository.size()) {
    size_t end = ref.repository.find('/', start);
    if (end == std::string::npos) end = ref.repository.size();
    if (!validComponent(std::string_view(ref.repository).substr(start, end - start)))
      return Error::make("image {}: bad repository name '{}' (lowercase letters, digits and . _ - only)", original,
                         ref.repository);
    start = end + 1;
  }
  return ref;
}

bool isTarName(std::string_view p) {
  constexpr std::array<std::string_view, 7> kSuffixes = {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz",
                                                          ".tar.bz2", ".tzst"};
  for (auto s : kSuffixes)
    if (endsWith(p, s)) return true;
  return false;
}

// "DIR[:REF]": REF is the part after the last ':' when it holds no '/'.
bool hasRefSuffix(std::string_view rest) {
  auto colon = rest.rfind(':');
  return colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos;
}

void splitPathRef(std::string_view rest, Reference& ref) {
  if (hasRefSuffix(rest)) {
    auto colon = rest.rfind(':');
    ref.path = std::string(rest.substr(0, colon));
    ref.ociRef = std::string(rest.substr(colon + 1));
  } else {
    ref.path = std::string(rest);
  }
}

Result<Reference> parseLocal(std::string_view text, std::string_view transport, std::string_view rest) {
  Reference ref;
  ref.original = std::string(text);
  if (transport == "oci" || transport == "oci-archive") {
    ref.kind = transport == "oci" ? SourceKind::OciDir : SourceKind::OciArchive;
    splitPathRef(rest, ref);
  } else if (transport == "docker-archive") {
    ref.kind = SourceKind::DockerArchive;
    ref.path = std::string(rest);
  } else {
    ref.path = std::string(rest);
    ref.kind = isTarName(rest) ? SourceKind::RootfsTar : SourceKind::RootfsDir;
  }
  if (ref.path.empty()) return Error::make("image {}: {}: needs a path", text, transport);
  return ref;
}

Result<Reference> parseBootstrap(std::string_view text, std::string_view rest) {
  Reference ref;
  ref.kind = SourceKind::Bootstrap;
  ref.original = std::string(text);
  auto colon = rest.find(':');
  if (colon == std::string_view::npos || rest.substr(0, colon) != "debian")
    return Error::make("image {}: bootstrap: wants debian:SUITE (e.g. bootstrap:debian:trixie)", text);
  ref.distro = "debian";
  ref.suite = std::string(rest.substr(colon + 1));
  if (!isValidTag(ref.suite)) return Error::make("image {}: bad suite '{}'", text, ref.suite);
  return ref;
}

}  // namespace

bool isSha256Digest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (!startsWith(digest, kPrefix) || digest.size() != kPrefix.size() + 64) return false;
  for (char c : digest.substr(kPrefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

namespace {

constexpr std::array<std::string_view, 5> kTransports = {"oci-archive", "docker-archive", "oci", "rootfs",
                                                         "bootstrap"};

bool readsAsTransport(std::string_view text) {
  return std::any_of(kTransports.begin(), kTransports.end(), [&](std::string_view t) {
    return startsWith(text, t) && text.size() > t.size() && text[t.size()] == ':';
  });
}

}  // namespace

Result<Reference> parseReference(std::string_view text) {
  if (text.empty()) return Error::make("empty image reference");
  for (char c : text)
    if (std::iscntrl(static_cast<unsigned char>(c)) || c == ' ')
      return Error::make("image '{}': spaces and control characters are not allowed", text);
  constexpr std::array<std::string_view, 4> kLocal = {"oci-archive", "docker-archive", "oci", "rootfs"};
  for (auto transport : kLocal) {
    if (startsWith(text, transport) && text.size() > transport.size() && text[transport.size()] == ':')
      return parseLocal(text, transport, text.substr(transport.size() + 1));
  }
  if (startsWith(text, "bootstrap:")) return parseBootstrap(text, text.substr(10));
  std::string_view body = text;
  if (startsWith(body, "docker://")) body = body.substr(9);
  if (body.find("://") != std::string_view::npos)
    return Error::make("image {}: unknown transport (use docker://, oci:, oci-archive:, docker-archive:, rootfs: or "
                       "bootstrap:debian:SUITE)", text);
  return parseRegistry(text, body);
}

std::string Reference::canonical() const {
  switch (kind) {
    case SourceKind::Registry: {
      std::string name = digest.empty() ? fmt::format("{}/{}:{}", registry, repository, tag)
                                        : fmt::format("{}/{}@{}", registry, repository, digest);
      // A registry named like a transport ("oci:5") keeps its docker:// so that the name
      // reads back as the same registry, not as a local path sharing its store record.
      return readsAsTransport(name) ? "docker://" + name : name;
    }
    case SourceKind::OciDir:
    case SourceKind::OciArchive: {
      // A path that would read as DIR:REF keeps an empty REF ("oci:/x/a:b:"),
      // so no two references share a canonical name (and a store record).
      bool separator = !ociRef.empty() || hasRefSuffix(path);
      return fmt::format("{}:{}{}{}", kind == SourceKind::OciDir ? "oci" : "oci-archive", path,
                         separator ? ":" : "", ociRef);
    }
    case SourceKind::DockerArchive: return "docker-archive:" + path;
    case SourceKind::RootfsDir:
    case SourceKind::RootfsTar: return "rootfs:" + path;
    case SourceKind::Bootstrap: return fmt::format("bootstrap:{}:{}", distro, suite);
  }
  return original;
}

std::string Reference::apiHost() const {
  return registry == kDockerHub ? "registry-1.docker.io" : registry;
}

bool isValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag.front())) return false;
  for (char c : tag)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

}  // namespace coco::image
