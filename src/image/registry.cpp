// Registry client: manifests and blobs over HTTPS with bearer/basic auth, every blob verified.
#include "image/registry.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "image/digest.hpp"
#include "image/importer.hpp"
#include "image/manifest.hpp"
#include "sys/io.hpp"
#include "util/fs.hpp"
#include "util/host_port.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

namespace {

using json = nlohmann::json;

constexpr size_t kMaxManifestBytes = 4 << 20;
const std::string kManifestAccept = fmt::format("Accept: {}, {}, {}, {}", kOciIndex, kOciManifest, kDockerList,
                                                kDockerManifest);

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string hostOf(const std::string& registry) {
  auto hp = splitHostPort(registry);
  return hp ? std::string(hp->host) : registry;
}

// Receives the body: return false to abort the transfer.
using Sink = std::function<bool(const char*, size_t)>;

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercased names, last response only
  std::string body;                             // only when no sink was given
};

struct Transfer {
  Sink sink;
  Response* response;
  std::function<void(uint64_t, uint64_t)> onBytes;
};

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) t->response->headers.clear();  // a new response (redirect)
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.erase(0, 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    t->response->headers[lower(line.substr(0, colon))] = value;
  }
  return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  return t->sink(data, size * n) ? size * n : 0;
}

int onProgress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->onBytes) t->onBytes(static_cast<uint64_t>(now), static_cast<uint64_t>(total));
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One HTTP GET. `insecure` allows http:// (and redirects to it).
Result<Response> httpGet(const std::string& url, const std::vector<std::string>& headers, bool insecure,
                         Sink sink = nullptr, std::function<void(uint64_t, uint64_t)> onBytes = nullptr) {
  globalInit();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Error::make("curl_easy_init failed");
  Response response;
  Transfer t{sink, &response, std::move(onBytes)};
  if (!t.sink) t.sink = [&response](const char* d, size_t n) {
    if (response.body.size() + n > kMaxManifestBytes) return false;
    response.body.append(d, n);
    return true;
  };
  std::unique_ptr<curl_slist, SlistDeleter> list;
  for (const auto& h : headers) list.reset(curl_slist_append(list.release(), h.c_str()));
  CURL* c = curl.get();
  const char* protocols = insecure ? "http,https" : "https";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 8L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "coco/" "0.1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  // abort a transfer stalled for a minute
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, t.onBytes ? 0L : 1L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) return Error::make("GET {}: {}", url, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string urlEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// The registry's own explanation of a failed request, when it gave one.
std::string registryMessage(const Response& r) { return registryErrorMessage(r.body); }

class Client {
 public:
  explicit Client(const Reference& ref)
      : ref_(ref), insecure_(allowPlainHttp(ref.registry)),
        base_(fmt::format("{}://{}/v2/{}/", insecure_ ? "http" : "https", ref.apiHost(), ref.repository)),
        credentials_(findCredentials(ref.registry)) {}

  Result<std::pair<std::string, std::string>> manifest(const std::string& reference) {
    COCO_ASSIGN(Response r, get("manifests/" + reference, {kManifestAccept}));
    if (r.status != 200)
      return Error::make("manifest {}: HTTP {}{}", reference, r.status, registryMessage(r));
    std::string mediaType = r.headers.count("content-type") ? r.headers["content-type"] : "";
    mediaType = mediaType.substr(0, mediaType.find(';'));
    if (isSha256Digest(reference) && sha256Digest(r.body) != reference)
      return Error::make("manifest {}: content does not match its digest", reference);
    return std::make_pair(std::move(r.body), mediaType);
  }

  Result<std::string> blob(const Descriptor& d, const std::string& work, const ProgressFn& progress) {
    std::string path = fs::joinPath(work, "blob-" + digestHex(d.digest));
    COCO_TRY(download(d, path, progress));
    return path;
  }

 private:
  Status download(const Descriptor& d, const std::string& path, const ProgressFn& progress) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("create {}", path);
    Sha256 hash;
    uint64_t written = 0;
    bool writeFailed = false;
    Sink sink = [&](const char* data, size_t n) {
      written += n;
      if (d.size >= 0 && written > static_cast<uint64_t>(d.size)) return false;  // larger than declared
      hash.update(data, n);
      writeFailed = sys::writeAll(fd.get(), data, n) != 0;
      return !writeFailed;
    };
    std::string id = shortDigest(d.digest);
    auto onBytes = [&](uint64_t now, uint64_t total) {
      progress({ProgressEvent::Kind::Bytes, id, "", now, total ? total : static_cast<uint64_t>(std::max<int64_t>(d.size, 0))});
    };
    COCO_ASSIGN(Response r, get("blobs/" + d.digest, {}, sink, onBytes));
    if (writeFailed) return Error::fromErrno("write {}", path);
    if (r.status != 200) return Error::make("blob {}: HTTP {}{}", d.digest, r.status, registryMessage(r));
    if (d.size >= 0 && written != static_cast<uint64_t>(d.size))
      return Error::make("blob {}: got {} bytes, the manifest says {}", d.digest, written, d.size);
    std::string actual = hash.finish();
    if (actual != d.digest)
      return Error::make("blob {}: downloaded content has digest {} (corrupt or tampered); nothing stored", d.digest,
                         actual);
    progress({ProgressEvent::Kind::ItemDone, id, "downloaded", 0, written});
    return {};
  }

  // GET below /v2/<repo>/, authenticating once when challenged.
  Result<Response> get(const std::string& path, std::vector<std::string> headers, Sink sink = nullptr,
                       std::function<void(uint64_t, uint64_t)> onBytes = nullptr) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::vector<std::string> h = headers;
      if (!authorization_.empty()) h.push_back("Authorization: " + authorization_);
      COCO_ASSIGN(Response r, httpGet(base_ + path, h, insecure_, sink, onBytes));
      if (r.status != 401 || attempt == 1) return r;
      auto challenge = r.headers.find("www-authenticate");
      if (challenge == r.headers.end()) return r;
      COCO_TRY(authenticate(challenge->second));
    }
    return Error::make("unreachable");
  }

  Status authenticate(const std::string& header) {
    COCO_ASSIGN(AuthChallenge ch, parseChallenge(header));
    if (ch.scheme == "basic") {
      if (!credentials_) return Error::make("registry {} wants a login (none found in auth.json)", ref_.registry);
      authorization_ = "Basic " + *credentials_;
      return {};
    }
    if (ch.scheme != "bearer") return Error::make("registry {}: unsupported auth scheme {}", ref_.registry, ch.scheme);
    std::string scope = ch.scope.empty() ? fmt::format("repository:{}:pull", ref_.repository) : ch.scope;
    std::string url = fmt::format("{}{}service={}&scope={}", ch.realm,
                                  ch.realm.find('?') == std::string::npos ? "?" : "&", urlEscape(ch.service),
                                  urlEscape(scope));
    std::vector<std::string> h;
    if (credentials_) h.push_back("Authorization: Basic " + *credentials_);
    COCO_ASSIGN(Response r, httpGet(url, h, insecure_));
    if (r.status != 200) return Error::make("token from {}: HTTP {}{}", ch.realm, r.status, registryMessage(r));
    auto token = parseTokenResponse(r.body);
    if (!token) return std::move(token).error().wrap(fmt::format("token from {}", ch.realm));
    authorization_ = "Bearer " + *token;
    return {};
  }

  Reference ref_;
  bool insecure_;
  std::string base_;
  std::optional<std::string> credentials_;
  std::string authorization_;
};

// Manifest (following an index to the host's platform) as an ImportSource.
Result<ImportSource> resolveManifest(Client& client, const Reference& ref, const ProgressFn& progress) {
  std::string reference = ref.manifestRef();
  COCO_ASSIGN(auto got, client.manifest(reference));
  std::string digest = sha256Digest(got.first);
  COCO_ASSIGN(std::string kind, manifestKind(got.first));
  if (isIndex(kind)) {
    COCO_ASSIGN(auto entries, parseIndex(got.first));
    COCO_ASSIGN(Descriptor chosen, pickPlatform(entries));
    progress({ProgressEvent::Kind::Step, "", fmt::format("manifest list: using linux/{} {}", chosen.architecture,
                                                         shortDigest(chosen.digest)), 0, 0});
    COCO_ASSIGN(got, client.manifest(chosen.digest));
    digest = chosen.digest;
    COCO_ASSIGN(kind, manifestKind(got.first));
  }
  if (kind != kOciManifest && kind != kDockerManifest) return Error::make("unsupported manifest type {}", kind);
  ImportSource src;
  src.name = ref.canonical();
  src.manifestDigest = digest;
  src.manifestBody = std::move(got.first);
  COCO_ASSIGN(src.manifest, parseManifest(src.manifestBody));
  return src;
}

std::optional<std::string> credentialsIn(const std::string& file, const std::string& registry) {
  auto text = fs::readFile(file);
  if (!text) return std::nullopt;
  try {
    auto auths = json::parse(*text).at("auths");
    std::vector<std::string> keys = {registry, "https://" + registry, "http://" + registry};
    if (registry == "docker.io") keys.insert(keys.end(), {"https://index.docker.io/v1/", "index.docker.io"});
    for (const auto& k : keys)
      if (auths.contains(k) && auths.at(k).contains("auth")) return auths.at(k).at("auth").get<std::string>();
  } catch (const json::exception& e) {
    log::warn("ignoring {}: {}", file, e.what());
  }
  return std::nullopt;
}

}  // namespace

std::string registryErrorMessage(const std::string& body) {
  try {
    auto j = json::parse(body);
    const auto& e = j.at("errors").at(0);
    return fmt::format(": {} {}", e.value("code", ""), e.value("message", ""));
  } catch (const json::exception&) {
    return "";
  }
}

Result<std::string> parseTokenResponse(const std::string& body) {
  try {
    auto j = json::parse(body);
    return j.contains("token") ? j.at("token").get<std::string>() : j.at("access_token").get<std::string>();
  } catch (const json::exception& e) {
    return Error::make("{}", e.what());
  }
}

Result<AuthChallenge> parseChallenge(std::string_view header) {
  AuthChallenge ch;
  auto space = header.find(' ');
  ch.scheme = lower(std::string(header.substr(0, space)));
  if (ch.scheme.empty()) return Error::make("empty WWW-Authenticate header");
  size_t i = space == std::string_view::npos ? header.size() : space + 1;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    auto eq = header.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = lower(std::string(header.substr(i, eq - i)));
    std::string value;
    i = eq + 1;
    if (i < header.size() && header[i] == '"') {
      auto end = header.find('"', i + 1);
      if (end == std::string_view::npos) return Error::make("unterminated quote in WWW-Authenticate: {}", header);
      value = std::string(header.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      auto end = header.find(',', i);
      if (end == std::string_view::npos) end = header.size();
      value = std::string(header.substr(i, end - i));
      i = end;
    }
    if (key == "realm") ch.realm = value;
    else if (key == "service") ch.service = value;
    else if (key == "scope") ch.scope = value;
  }
  if (ch.scheme == "bearer" && ch.realm.rfind("https://", 0) != 0 && ch.realm.rfind("http://", 0) != 0)
    return Error::make("bearer challenge without an http(s) realm: {}", header);
  return ch;
}

std::optional<std::string> findCredentials(const std::string& registry) {
  std::vector<std::string> files;
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) files.emplace_back(f);
  if (const char* r = std::getenv("XDG_RUNTIME_DIR"); r && *r) files.push_back(fs::joinPath(r, "containers/auth.json"));
  if (const char* home = std::getenv("HOME"); home && *home) {
    files.push_back(fs::joinPath(home, ".config/containers/auth.json"));
    files.push_back(fs::joinPath(home, ".docker/config.json"));
  }
  for (const auto& f : files)
    if (auto c = credentialsIn(f, registry)) return c;
  return std::nullopt;
}

bool allowPlainHttp(const std::string& registry) {
  std::string host = hostOf(registry);
  auto v4 = parseIpv4(host);
  if (host == "localhost" || host == "::1" || (v4 && classifyAddress(*v4) == AddressKind::Loopback)) return true;
  const char* list = std::getenv("COCO_INSECURE_REGISTRIES");
  if (!list) return false;
  std::string all = list;
  for (auto& c : all)
    if (c == ',') c = ' ';
  size_t i = 0;
  while (i < all.size()) {
    size_t j = all.find(' ', i);
    if (j == std::string::npos) j = all.size();
    std::string item = all.substr(i, j - i);
    if (!item.empty() && (item == registry || item == host)) return true;
    i = j + 1;
  }
  return false;
}

Result<ImageRecord> pullImage(const Storage& store, const Reference& ref, const ProgressFn& progress) {
  progress({ProgressEvent::Kind::Step, "", "pulling " + ref.canonical(), 0, 0});
  Client client(ref);
  auto src = resolveManifest(client, ref, progress);
  if (!src) return std::move(src).error().wrap("pull " + ref.canonical());
  src->fetch = [&](const Descriptor& d, const std::string& work) { return client.blob(d, work, progress); };
  auto record = importImage(store, *src, progress);
  if (!record) return std::move(record).error().wrap("pull " + ref.canonical());
  return record;
}

}  // namespace coco::image
