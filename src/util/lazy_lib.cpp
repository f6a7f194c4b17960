// dlopen/dlsym behind the lazy library shims.
#include "util/lazy_lib.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "util/front.hpp"

namespace coco::lazy {

void* symbol(const char* library, const char* name) {
  // The static front cannot load a library; the places that lead here hand over before they
  // print or write anything (util/front.hpp), this is the last stop.
  front::needFull(library);
  void* handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (!handle) handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  void* fn = handle ? ::dlsym(handle, name) : nullptr;
  if (fn) return fn;
  std::fprintf(stderr, "coco: error: cannot load %s from %s (%s); install the package that provides %s\n", name,
               library, ::dlerror(), library);
  ::_exit(125);
}

}  // namespace coco::lazy

extern "C" void* coco_lazy_symbol(const char* library, const char* name) { return coco::lazy::symbol(library, name); }
