// The libarchive functions coco calls, loaded on first use (see lazy_lib.hpp).
// A new call to libarchive needs its line here, or the link fails.
#include <archive.h>
#include <archive_entry.h>

#include "util/lazy_lib.hpp"

namespace {
constexpr const char* kLibarchive = "libarchive.so.13";
}  // namespace

COCO_LAZY_FUNCTION(kLibarchive, __LA_MODE_T, archive_entry_filetype, (struct archive_entry * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_free, (struct archive_entry * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, la_int64_t, archive_entry_gid, (struct archive_entry * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, const char *, archive_entry_hardlink, (struct archive_entry * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, struct archive_entry *, archive_entry_new, (void), ())
COCO_LAZY_FUNCTION(kLibarchive, const char *, archive_entry_pathname, (struct archive_entry * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_filetype, (struct archive_entry * a0, unsigned int a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_gid, (struct archive_entry * a0, la_int64_t a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_gname, (struct archive_entry * a0, const char * a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_hardlink, (struct archive_entry * a0, const char * a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_pathname, (struct archive_entry * a0, const char * a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_perm, (struct archive_entry * a0, __LA_MODE_T a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_rdev, (struct archive_entry * a0, dev_t a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_size, (struct archive_entry * a0, la_int64_t a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_symlink, (struct archive_entry * a0, const char * a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_uid, (struct archive_entry * a0, la_int64_t a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_uname, (struct archive_entry * a0, const char * a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, la_int64_t, archive_entry_size, (struct archive_entry * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, la_int64_t, archive_entry_uid, (struct archive_entry * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, const char *, archive_error_string, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_read_data_block, (struct archive * a0, const void ** a1, size_t * a2, la_int64_t * a3), (a0, a1, a2, a3))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_read_free, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, struct archive *, archive_read_new, (void), ())
COCO_LAZY_FUNCTION(kLibarchive, int, archive_read_next_header, (struct archive * a0, struct archive_entry ** a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_read_open_fd, (struct archive * a0, int a1, size_t a2), (a0, a1, a2))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_read_support_filter_all, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_read_support_format_tar, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_add_filter_gzip, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_close, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, la_ssize_t, archive_write_data, (struct archive * a0, const void * a1, size_t a2), (a0, a1, a2))
COCO_LAZY_FUNCTION(kLibarchive, la_ssize_t, archive_write_data_block, (struct archive * a0, const void * a1, size_t a2, la_int64_t a3), (a0, a1, a2, a3))
COCO_LAZY_FUNCTION(kLibarchive, struct archive *, archive_write_disk_new, (void), ())
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_disk_set_options, (struct archive * a0, int a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_finish_entry, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_free, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_header, (struct archive * a0, struct archive_entry * a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, struct archive *, archive_write_new, (void), ())
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_open_filename, (struct archive * a0, const char * a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_set_format_pax_restricted, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_mode, (struct archive_entry * a0, __LA_MODE_T a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, void, archive_entry_set_mtime, (struct archive_entry * a0, time_t a1, long a2), (a0, a1, a2))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_set_format_raw, (struct archive * a0), (a0))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_set_bytes_in_last_block, (struct archive * a0, int a1), (a0, a1))
COCO_LAZY_FUNCTION(kLibarchive, int, archive_write_open, (struct archive * a0, void * a1, archive_open_callback * a2, archive_write_callback * a3, archive_close_callback * a4), (a0, a1, a2, a3, a4))
