// The libcrypto functions coco calls (image digests), loaded on first use
// (see lazy_lib.hpp). A new call to libcrypto needs its line here, or the link fails.
#include <openssl/evp.h>

#include "util/lazy_lib.hpp"

namespace {
constexpr const char* kLibcrypto = "libcrypto.so.3";
}  // namespace

COCO_LAZY_FUNCTION(kLibcrypto, EVP_MD_CTX*, EVP_MD_CTX_new, (void), ())
COCO_LAZY_FUNCTION(kLibcrypto, void, EVP_MD_CTX_free, (EVP_MD_CTX * ctx), (ctx))
COCO_LAZY_FUNCTION(kLibcrypto, const EVP_MD*, EVP_sha256, (void), ())
COCO_LAZY_FUNCTION(kLibcrypto, int, EVP_DigestInit_ex, (EVP_MD_CTX * ctx, const EVP_MD* type, ENGINE* impl),
                   (ctx, type, impl))
COCO_LAZY_FUNCTION(kLibcrypto, int, EVP_DigestUpdate, (EVP_MD_CTX * ctx, const void* d, size_t cnt), (ctx, d, cnt))
COCO_LAZY_FUNCTION(kLibcrypto, int, EVP_DigestFinal_ex, (EVP_MD_CTX * ctx, unsigned char* md, unsigned int* s),
                   (ctx, md, s))
