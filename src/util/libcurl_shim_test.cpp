// The lazily loaded libcurl: every kind of curl_easy_setopt argument (long,
// pointer, function, curl_off_t) and curl_easy_getinfo's pointer arrive intact.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <string>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco {
namespace {

size_t append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

TEST(LibcurlShim, PassesEveryArgumentKind) {
  TempDir dir("coco-curl-test");
  std::string file = dir.path() + "/data";
  ASSERT_TRUE(fs::writeFileAtomic(file, "hello").ok());
  std::string url = "file://" + file;
  CURL* c = curl_easy_init();
  ASSERT_NE(c, nullptr);
  std::string got;
  EXPECT_EQ(curl_easy_setopt(c, CURLOPT_URL, url.c_str()), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "file"), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, curl_off_t{1000}), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append), CURLE_OK);
  EXPECT_EQ(curl_easy_setopt(c, CURLOPT_WRITEDATA, &got), CURLE_OK);
  ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
  EXPECT_EQ(got, "hello");
  curl_off_t size = 0;
  EXPECT_EQ(curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &size), CURLE_OK);
  EXPECT_EQ(size, 5);
  // A resume offset is honoured: the curl_off_t arrived as itself.
  got.clear();
  EXPECT_EQ(curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, curl_off_t{2}), CURLE_OK);
  ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
  EXPECT_EQ(got, "llo");
  // An unknown option is refused by libcurl, not misread by the shim.
  EXPECT_NE(curl_easy_setopt(c, static_cast<CURLoption>(CURLOPTTYPE_LONG + 9999), 1L), CURLE_OK);
  curl_easy_cleanup(c);
}

}  // namespace
}  // namespace coco
