// curl_easy_setopt and curl_easy_getinfo, the variadic libcurl calls, loaded on
// first use like the rest of libcurl_shim.cpp. Written in C: curl.h names an
// enum as the last parameter before "...", and va_start on a parameter that
// undergoes argument promotion is undefined behaviour in C++; in C the enum is
// compatible with the integer type it promotes to.
#include <curl/curl.h>
#include <stdarg.h>
#include <stdatomic.h>

// util/lazy_lib.cpp: the address of a symbol of a library, loaded on first use.
void* coco_lazy_symbol(const char* library, const char* name);

typedef CURLcode (*SetoptFn)(CURL*, CURLoption, ...);
typedef CURLcode (*GetinfoFn)(CURL*, CURLINFO, ...);

static void* lookup(void* _Atomic* cache, const char* name) {
  void* fn = atomic_load_explicit(cache, memory_order_acquire);
  if (!fn) {
    fn = coco_lazy_symbol("libcurl.so.4", name);
    atomic_store_explicit(cache, fn, memory_order_release);
  }
  return fn;
}

// The names are in parentheses: curl.h may define them as type-checking macros.

// The option's number says the argument's type (curl.h's CURLOPTTYPE_*), so
// each is read back with its own type and passed on as one.
CURLcode(curl_easy_setopt)(CURL* curl, CURLoption option, ...) {
  static void* _Atomic cache;
  SetoptFn real = (SetoptFn)lookup(&cache, "curl_easy_setopt");
  va_list ap;
  va_start(ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    long value = va_arg(ap, long);
    rc = real(curl, option, value);
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT || option >= CURLOPTTYPE_BLOB) {
    void* pointer = va_arg(ap, void*);
    rc = real(curl, option, pointer);
  } else if (option < CURLOPTTYPE_OFF_T) {
    void (*function)(void) = va_arg(ap, void (*)(void));
    rc = real(curl, option, function);
  } else {
    curl_off_t value = va_arg(ap, curl_off_t);
    rc = real(curl, option, value);
  }
  va_end(ap);
  return rc;
}

// Every CURLINFO_* takes a pointer to where the answer goes.
CURLcode(curl_easy_getinfo)(CURL* curl, CURLINFO info, ...) {
  static void* _Atomic cache;
  GetinfoFn real = (GetinfoFn)lookup(&cache, "curl_easy_getinfo");
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return real(curl, info, out);
}
