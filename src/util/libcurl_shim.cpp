// The libcurl functions coco calls, loaded on first use (see lazy_lib.hpp).
// A new call to libcurl needs its line here, or the link fails.
#include <curl/curl.h>

#include <cstdarg>

#include "util/lazy_lib.hpp"

namespace {
constexpr const char* kLibcurl = "libcurl.so.4";

// curl_easy_setopt and curl_easy_getinfo take one more argument of pointer,
// long or curl_off_t type; each travels in one 64-bit integer register on the
// ABIs coco supports, so it is passed on as such.
static_assert(sizeof(void*) == 8 && sizeof(long) == 8 && sizeof(curl_off_t) == 8);
}  // namespace

COCO_LAZY_FUNCTION(kLibcurl, CURLcode, curl_global_init, (long flags), (flags))
COCO_LAZY_FUNCTION(kLibcurl, CURL*, curl_easy_init, (void), ())
COCO_LAZY_FUNCTION(kLibcurl, void, curl_easy_cleanup, (CURL * curl), (curl))
COCO_LAZY_FUNCTION(kLibcurl, CURLcode, curl_easy_perform, (CURL * curl), (curl))
COCO_LAZY_FUNCTION(kLibcurl, const char*, curl_easy_strerror, (CURLcode code), (code))
COCO_LAZY_FUNCTION(kLibcurl, struct curl_slist*, curl_slist_append, (struct curl_slist * list, const char* s),
                   (list, s))
COCO_LAZY_FUNCTION(kLibcurl, void, curl_slist_free_all, (struct curl_slist * list), (list))

extern "C" CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  using Fn = CURLcode (*)(CURL*, CURLoption, ...);
  static Fn real = reinterpret_cast<Fn>(coco::lazy::symbol(kLibcurl, "curl_easy_setopt"));
  va_list ap;
  va_start(ap, option);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return real(curl, option, arg);
}

extern "C" CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  using Fn = CURLcode (*)(CURL*, CURLINFO, ...);
  static Fn real = reinterpret_cast<Fn>(coco::lazy::symbol(kLibcurl, "curl_easy_getinfo"));
  va_list ap;
  va_start(ap, info);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return real(curl, info, arg);
}
