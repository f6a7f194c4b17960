// The libcurl functions coco calls, loaded on first use (see lazy_lib.hpp).
// A new call to libcurl needs its line here, or the link fails.
#include <curl/curl.h>

#include "util/lazy_lib.hpp"

namespace {
constexpr const char* kLibcurl = "libcurl.so.4";
}  // namespace

// curl_easy_setopt and curl_easy_getinfo are variadic: see libcurl_varargs.c.
COCO_LAZY_FUNCTION(kLibcurl, CURLcode, curl_global_init, (long flags), (flags))
COCO_LAZY_FUNCTION(kLibcurl, CURL*, curl_easy_init, (void), ())
COCO_LAZY_FUNCTION(kLibcurl, void, curl_easy_cleanup, (CURL * curl), (curl))
COCO_LAZY_FUNCTION(kLibcurl, CURLcode, curl_easy_perform, (CURL * curl), (curl))
COCO_LAZY_FUNCTION(kLibcurl, const char*, curl_easy_strerror, (CURLcode code), (code))
COCO_LAZY_FUNCTION(kLibcurl, struct curl_slist*, curl_slist_append, (struct curl_slist * list, const char* s),
                   (list, s))
COCO_LAZY_FUNCTION(kLibcurl, void, curl_slist_free_all, (struct curl_slist * list), (list))
