// Loading tool configs: yaml-cpp's exceptions stop here and become Errors.
#include "config/loader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <set>

#include <yaml-cpp/yaml.h>

#include "config/config_builder.hpp"
#include "config/config_hash.hpp"
#include "config/yaml_reader.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::config {
namespace {

Error located(const std::string& path, const YAML::Mark& mark, std::string_view message) {
  int line = mark.line >= 0 ? mark.line + 1 : 1;
  int column = mark.column >= 0 ? mark.column + 1 : 1;
  return Error::make("{}:{}:{}: {}", path, line, column, message).withKind(ErrorKind::ConfigFile, path);
}

// "eslint.json" -> "eslint"; "" when the extension is not a config's.
std::string configName(std::string_view file) {
  for (std::string_view ext : {".json", ".yaml", ".yml"}) {
    if (file.size() > ext.size() && file.ends_with(ext))
      return std::string(file.substr(0, file.size() - ext.size()));
  }
  return {};
}

}  // namespace

Result<ToolConfig> parseConfig(std::string_view text, const std::string& path, const std::string& name,
                               bool nameIsCommand) {
  if (!isValidToolName(name))
    return Error::make("{}: invalid tool name '{}': use letters, digits and . _ + - (not first)", path, name)
        .withKind(ErrorKind::ConfigFile, path);
  try {
    ToolConfig config = buildConfig(YAML::Load(std::string(text)), name, nameIsCommand);
    config.path = path;
    config.hash = configHash(config);
    return config;
  } catch (const ConfigError& e) {
    return located(path, e.mark(), e.what());
  } catch (const YAML::Exception& e) {
    return located(path, e.mark, fmt::format("YAML syntax error: {}", e.msg));
  }
}

Result<ToolConfig> loadConfig(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string file = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string name = configName(file);
  if (name.empty()) return Error::make("{}: a tool config is named NAME.json, NAME.yaml or NAME.yml", path);
  COCO_ASSIGN(std::string text, fs::readFile(path));
  return parseConfig(text, path, name);
}

Result<ToolConfig> loadConfigFileAs(const std::string& path, const std::string& name) {
  // A file from a repository: a fifo would hang the read, a device or a huge
  // file has no config in it. O_NONBLOCK only matters for the fifo's open.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return Error::fromErrno("{}", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("{}", path);
  if (!S_ISREG(st.st_mode))
    return Error::make("{}: not a regular file", path).withKind(ErrorKind::ConfigFile, path);
  if (st.st_size > kMaxConfigFileBytes)
    return Error::make("{}: {} bytes; a tool config has at most {}", path, st.st_size, kMaxConfigFileBytes)
        .withKind(ErrorKind::ConfigFile, path);
  std::string text(static_cast<size_t>(st.st_size), '\0');
  ssize_t n = ::pread(fd.get(), text.data(), text.size(), 0);
  if (n < 0) return Error::fromErrno("reading {}", path);
  text.resize(static_cast<size_t>(n));
  return parseConfig(text, path, name, /*nameIsCommand=*/true);
}

Result<ToolConfig> loadTool(const Paths& paths, const std::string& name) {
  COCO_ASSIGN(std::string path, findToolFile(paths.toolsDir(), name));
  return loadConfig(path);
}

std::vector<std::string> listTools(const Paths& paths) {
  std::set<std::string> names;
  std::string dir = paths.toolsDir();
  struct CloseDir {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> stream(::opendir(dir.c_str()));
  if (!stream) {
    log::debug("cannot list {}: {}", dir, std::strerror(errno));
    return {};
  }
  while (const dirent* entry = ::readdir(stream.get())) {
    std::string name = configName(entry->d_name);
    if (!name.empty() && isValidToolName(name) && !fs::isDirectory(fs::joinPath(dir, entry->d_name)))
      names.insert(name);
  }
  return {names.begin(), names.end()};
}

}  // namespace coco::config
