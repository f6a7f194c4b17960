// Downloading one store file with libcurl (http, https, file).
#include <memory>
#include <mutex>

#include "catalog/catalog.hpp"

#ifdef COCO_HAVE_CURL
#include <curl/curl.h>
#endif

namespace coco::catalog {

#ifdef COCO_HAVE_CURL
namespace {

// A tool config is a few hundred bytes; anything this large is not one.
constexpr size_t kMaxConfigSize = 1 << 20;

struct Sink {
  std::string data;
  bool tooLarge = false;
};

size_t writeChunk(char* ptr, size_t size, size_t count, void* userdata) {
  auto* sink = static_cast<Sink*>(userdata);
  size_t n = size * count;
  if (sink->data.size() + n > kMaxConfigSize) {
    sink->tooLarge = true;
    return 0;  // makes curl abort the transfer
  }
  sink->data.append(ptr, n);
  return n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

bool isNotFound(CURLcode rc, long status) {
  return rc == CURLE_FILE_COULDNT_READ_FILE || (rc == CURLE_HTTP_RETURNED_ERROR && status == 404);
}

}  // namespace

Result<std::string> download(const std::string& url) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Error::make("download {}: cannot initialise libcurl", url);
  Sink sink;
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, writeChunk);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (sink.tooLarge) return Error::make("download {}: larger than {} bytes, not a tool config", url, kMaxConfigSize);
  if (rc == CURLE_OK) return std::move(sink.data);
  std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  if (isNotFound(rc, status)) return Error::withErrno(ENOENT, fmt::format("download {}: {}", url, why));
  return Error::make("download {}: {}", url, why);
}

#else

Result<std::string> download(const std::string& url) {
  return Error::make("download {}: coco was built without libcurl", url);
}

#endif

}  // namespace coco::catalog
