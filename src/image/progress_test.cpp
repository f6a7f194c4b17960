// Progress events as the status line draws them: one renderer for pulls, bootstraps and installs.
#include "image/progress.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/temp_dir.hpp"

namespace coco::image {
namespace {

using namespace std::chrono_literals;
using Kind = ProgressEvent::Kind;

TEST(Progress, EventsBecomeOneLiveLineAndFinalLines) {
  std::string out;
  std::chrono::steady_clock::time_point now{};
  auto p = statusLineProgress(
      Terminal{true, 60, false, false}, [&](std::string_view s) { out += s; }, [&] { return now; });
  p({Kind::Step, "", "getting Debian for the base image", 0, 0, 1, 2});
  p({Kind::Step, "", "pulling docker.io/library/debian:trixie-slim"});
  now += 3s;
  p({Kind::Bytes, "3f2a1b", "", 10u << 20, 30u << 20});
  p({Kind::ItemDone, "3f2a1b", "downloaded", 0, 30u << 20});
  now += 1s;
  p({Kind::Done, "", "got Debian from docker.io/library/debian:trixie-slim"});
  p({Kind::Status, "", "nothing open"});  // outside a step: the text alone
  // 60 columns: every drawn line is cut to 59.
  EXPECT_EQ(out,
            "\r\033[Kcoco: [1/2] 0:00 getting Debian for the base image"
            "\r\033[Kcoco: pulling docker.io/library/debian:trixie-slim\n"
            "\r\033[Kcoco: [1/2] 0:00 getting Debian for the base image"
            "\r\033[Kcoco: [1/2] 0:03 getting Debian for the base image: 3f2a1b "
            "\r\033[K  3f2a1b downloaded (30 MiB)\n"
            "\r\033[Kcoco: [1/2] 0:03 getting Debian for the base image: 3f2a1b "
            "\r\033[Kcoco: [1/2] got Debian from docker.io/library/debian (0:04)\n"
            "\r\033[Kcoco: nothing open");
}

// What stderrProgress() writes to file descriptor 2 for two events.
std::string writtenToFd2(bool quiet) {
  TempDir dir("coco-progress");
  std::string path = dir.path() + "/fd2";
  int saved = ::dup(STDERR_FILENO);
  int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ::dup2(file, STDERR_FILENO);
  ::close(file);
  log::setQuiet(quiet);
  auto p = stderrProgress();
  log::setQuiet(false);
  p({Kind::Step, "", "installing", 0, 0, 1, 1});
  p({Kind::Done, "", "installed"});
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  auto text = fs::readFile(path);
  return text ? *text : std::string("?");
}

TEST(Progress, QuietWritesNothing) {
  EXPECT_EQ(writtenToFd2(true), "");
  // A file is no terminal: plain lines.
  std::string loud = writtenToFd2(false);
  EXPECT_NE(loud.find("coco: [1/1] installing\n"), std::string::npos) << loud;
  EXPECT_NE(loud.find("coco: [1/1] installed (0:00)\n"), std::string::npos) << loud;
}

}  // namespace
}  // namespace coco::image
