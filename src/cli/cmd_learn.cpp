// `coco run --learn TOOL [args]` and `coco learn [--apply] TOOL`.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <memory>

#include "backend/backend.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "config/loader.hpp"
#include "image/storage.hpp"
#include "image/userns.hpp"
#include "tool/learn.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::cli {

namespace {

constexpr size_t kMaxRecordBytes = 1 << 20;

Result<std::string> learnDir(Context& ctx) {
  COCO_ASSIGN(auto paths, ctx.paths());
  return fs::joinPath(paths.cacheHome, "coco/learn");
}

// The record of the last learn run of a tool: a regular file, never a symlink (it is read back and
// turned into a config).
Result<tool::Learned> readRecord(Context& ctx, const std::string& name) {
  COCO_ASSIGN(std::string dir, learnDir(ctx));
  std::string path = fs::joinPath(dir, name + ".json");
  // O_NOFOLLOW: a symlink put there between a check and the open is never followed.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd && errno == ENOENT)
    return Error::make("no learn run of {} is recorded: run 'coco run --learn {} [args]' first", name, name);
  if (!fd && errno == ELOOP) return Error::make("{} is not a regular file: not reading it", path);
  if (!fd) return Error::fromErrno("open {}", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("stat {}", path);
  if (!S_ISREG(st.st_mode)) return Error::make("{} is not a regular file: not reading it", path);
  if (st.st_size > static_cast<off_t>(kMaxRecordBytes))
    return Error::make("{} is too large for a learn record", path);
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno("read {}", path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return tool::learnedFromJson(text, path);
}

}  // namespace

// The learn run itself: the spec made a learn run, the native backend recording
// into a TrafficLog, the overlays' changes listed, the scratch removed, the
// report printed and the record kept. The tool's exit status is the result.
Result<int> learnRun(Context& ctx, const config::ToolConfig& config, engine::RunSpec spec) {
  COCO_ASSIGN(std::string dir, learnDir(ctx));
  COCO_TRY(fs::makeDirs(dir, 0700));
  COCO_ASSIGN(std::string storage, image::Storage::defaultRoot());
  std::string scratchParent = fs::joinPath(storage, "learn");
  COCO_TRY(fs::makeDirs(scratchParent, 0700));
  std::string scratch = fs::joinPath(scratchParent, config.name + ".XXXXXX");
  if (!::mkdtemp(scratch.data())) return Error::fromErrno("mkdtemp {}", scratch);
  auto mounts = tool::prepareLearn(spec, config, scratch);
  Result<int> status = Error::make("not run");
  std::vector<tool::LearnedWrites> writes;
  auto traffic = std::make_shared<net::TrafficLog>();
  std::vector<std::string> guardRemoved;
  size_t guardRemovedMore = 0;
  spec.guard.onRemoved = [&](const std::string& src, const std::vector<std::string>& rels, size_t more) {
    for (const auto& rel : rels) {
      if (guardRemoved.size() < tool::kMaxLearnedRemovals) guardRemoved.push_back(fs::joinPath(src, rel));
      else ++guardRemovedMore;
    }
    guardRemovedMore += more;
  };
  if (mounts) {
    log::notice(
        "learn run of {}: full outbound network, recorded; read-only mounts take writes apart from "
        "their sources",
        config.name);
    auto backend = backend::makeBackend("native", {"", {}, traffic});
    status = backend ? (*backend)->run(spec) : Result<int>(backend.error());
    writes = tool::learnedWrites(*mounts);
  }
  if (auto st = image::removeTreeAsOwner(image::hostIdMaps(), scratch); !st)
    log::warn("{}", st.error().describe());
  if (!mounts) return mounts.error();
  if (!status) return status;
  tool::Learned learned = tool::collectLearned(config, *traffic, std::move(writes), std::move(guardRemoved), guardRemovedMore);
  ctx.err << tool::describeLearned(config, learned);
  COCO_TRY(fs::writeFileAtomic(fs::joinPath(dir, config.name + ".json"), tool::learnedToJson(learned), 0600));
  return status;
}

int cmdLearn(Context& ctx, const Args& args) {
  CLI::App app{"Show or apply what the last 'coco run --learn TOOL' suggested for TOOL's config.",
               "coco learn"};
  bool apply = false;
  std::string name;
  app.add_flag("--apply", apply, "write the suggestion into the tool's config file");
  app.add_option("tool", name, "the tool")->required();
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto learned = readRecord(ctx, name);
  if (!learned) return ctx.fail(learned.error());
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  auto config = config::loadTool(*paths, name);
  if (!config) return ctx.fail(config.error());
  if (config->hash != learned->configHash)
    return ctx.fail(fmt::format("{} changed since the learn run of {}", config->path, name),
                    fmt::format("run 'coco run --learn {}' again", name));
  if (!apply) {
    ctx.out << tool::describeLearned(*config, *learned);
    return kExitOk;
  }
  auto text = fs::readFileAtMost(config->path, config::kMaxConfigFileBytes);
  if (!text) return ctx.fail(text.error());
  auto updated = tool::applyLearned(*config, *text, *learned);
  if (!updated) return ctx.fail(updated.error());
  if (*updated == *text) {
    ctx.out << config->path << ": nothing to change\n";
    return kExitOk;
  }
  struct stat st {};
  mode_t mode = ::stat(config->path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  if (auto st2 = fs::writeFileAtomic(config->path, *updated, mode); !st2) return ctx.fail(st2.error());
  ctx.out << "updated " << config->path << ":\n" << *updated;
  // Applied: a second --apply finds no record rather than a config that "changed".
  if (auto dir = learnDir(ctx)) ::unlink(fs::joinPath(*dir, name + ".json").c_str());
  return kExitOk;
}

}  // namespace coco::cli
