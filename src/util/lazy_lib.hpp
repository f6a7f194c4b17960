// Lazy loading of libcurl and libarchive: they (and the ~35 libraries they
// pull in) cost about 6 ms at every start of coco, yet only pulls, imports and
// `coco get` from a URL use them. The shims define the functions coco calls
// and load the real library on the first call.
#pragma once

namespace coco::lazy {

// The address of `symbol` in `library` (a soname), loading it on first use.
// A missing library or symbol ends the process with a clear message: there
// is no way to carry on without the function the caller is about to call.
void* symbol(const char* library, const char* symbol);

}  // namespace coco::lazy

// lazy::symbol for the shims written in C (libcurl_varargs.c).
extern "C" void* coco_lazy_symbol(const char* library, const char* symbol);

// Defines `extern "C" RET NAME PARAMS` that forwards ARGS to the real NAME.
// The compiler checks PARAMS against the library's own header declaration.
#define COCO_LAZY_FUNCTION(LIBRARY, RET, NAME, PARAMS, ARGS)                                   \
  extern "C" RET NAME PARAMS {                                                                \
    using Fn = RET(*) PARAMS;                                                                 \
    static Fn real = reinterpret_cast<Fn>(::coco::lazy::symbol(LIBRARY, #NAME));             \
    return real ARGS;                                                                         \
  }
