// Image references (COCO_IMAGE, configs, records): what parses has a canonical
// name that parses back to the same reference; different references never
// share one (the store keys records by it).
#include "fuzz_support.hpp"
#include "image/reference.hpp"

namespace {

using namespace coco::image;

// A digest names the content, so a tag next to it is not part of the reference's identity.
bool same(const Reference& a, const Reference& b) {
  bool sameTag = a.tag == b.tag || (!a.digest.empty() && a.digest == b.digest);
  return a.kind == b.kind && a.registry == b.registry && a.repository == b.repository && sameTag &&
         a.digest == b.digest && a.path == b.path && a.ociRef == b.ociRef && a.distro == b.distro &&
         a.suite == b.suite;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ref = parseReference(text);
  if (!ref) return 0;
  std::string canonical = ref->canonical();
  auto again = parseReference(canonical);
  FUZZ_CHECK(again.ok(), canonical);
  FUZZ_CHECK(same(*ref, *again), canonical);
  FUZZ_CHECK(again->canonical() == canonical, canonical);
  FUZZ_CHECK(ref->digest.empty() || isSha256Digest(ref->digest), ref->digest);
  FUZZ_CHECK(ref->kind != SourceKind::Registry || !ref->tag.empty() || !ref->digest.empty(), canonical);
  return 0;
}
