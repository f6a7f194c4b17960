// The host's CA bundle and the variables that make a sandbox's TLS clients trust it, for runs and installs alike.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace coco::tool {

// Bundles are a few hundred KiB; a bigger file is not a bundle.
inline constexpr size_t kMaxCaBundleBytes = 16 << 20;

// The host's CA bundle, or "" when there is none: $SSL_CERT_FILE when it names
// a regular file, else the first regular file among the distributions' bundle
// paths, in Go's order (Debian/Ubuntu, Fedora/RHEL 6, openSUSE, OpenELEC,
// CentOS/RHEL 7, Alpine). `root` is prepended to those paths (tests).
// SSL_CERT_DIR is not used: the variables below each take one file.
std::string findHostCaBundle(const std::map<std::string, std::string>& env, const std::string& root = "");

// Reads the bundle once, refusing one larger than kMaxCaBundleBytes.
Result<std::string> readCaBundle(const std::string& path);

// The variables that point TLS clients at the bundle `path` inside the sandbox:
// SSL_CERT_FILE (OpenSSL, Python, Go, uv, mise), NODE_EXTRA_CA_CERTS (node, npm),
// REQUESTS_CA_BUNDLE and PIP_CERT (pip), CURL_CA_BUNDLE (curl), GIT_SSL_CAINFO
// (git), CARGO_HTTP_CAINFO (cargo).
std::vector<std::pair<std::string, std::string>> caBundleEnv(const std::string& path);

}  // namespace coco::tool
