// libarchive's last error on an archive, as a string that is never null.
#pragma once

#include <archive.h>

#include <string>

namespace coco::image {

// archive_error_string is null when libarchive set no message (a truncated
// header, for one); fmt throws on a null C string, and nothing catches it.
inline std::string archiveError(struct archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unknown libarchive error";
}

}  // namespace coco::image
