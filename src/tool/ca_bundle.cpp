// Finding the host's CA bundle, reading it, and the variables that name it.
#include "tool/ca_bundle.hpp"

#include <sys/stat.h>

#include "util/fs.hpp"

namespace coco::tool {

namespace {

// Follows symlinks: distributions link their bundle paths to one another.
bool isRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::string findHostCaBundle(const std::map<std::string, std::string>& env, const std::string& root) {
  if (auto it = env.find("SSL_CERT_FILE"); it != env.end() && !it->second.empty() && isRegularFile(it->second))
    return it->second;
  for (const char* path : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                           "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem",
                           "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem"})
    if (isRegularFile(root + path)) return root + path;
  return {};
}

Result<std::string> readCaBundle(const std::string& path) {
  auto text = fs::readFileAtMost(path, kMaxCaBundleBytes);
  if (!text) return std::move(text).error().wrap("reading the CA bundle");
  return text;
}

std::vector<std::pair<std::string, std::string>> caBundleEnv(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> env;
  for (const char* name : {"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "PIP_CERT",
                           "CARGO_HTTP_CAINFO", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE"})
    env.emplace_back(name, path);
  return env;
}

}  // namespace coco::tool
