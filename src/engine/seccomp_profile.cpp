// Parsing and validating OCI/Docker seccomp profiles (nlohmann's exceptions stop here).
#include "engine/seccomp_profile.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <initializer_list>

#include <nlohmann/json.hpp>

namespace coco::engine {
namespace {

using nlohmann::json;

struct NamedValue {
  std::string_view name;
  uint32_t value;
};

// Profiles name arches the libseccomp way (architectures, archMap) and the Go
// way (includes/excludes, as Docker writes them); both are accepted anywhere.
constexpr auto kArches = std::to_array<NamedValue>({
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"amd64", SCMP_ARCH_X86_64},
    {"x86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"x86", SCMP_ARCH_X86},
    {"386", SCMP_ARCH_X86},
    {"i386", SCMP_ARCH_X86},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"x32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"arm", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"arm64", SCMP_ARCH_AARCH64},
    {"aarch64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"mips", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"mips64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"mips64n32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"mipsle", SCMP_ARCH_MIPSEL},
    {"mipsel", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"mips64le", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"mips64len32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"ppc", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"ppc64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"ppc64le", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"s390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"s390x", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"parisc", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"parisc64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
    {"riscv64", SCMP_ARCH_RISCV64},
    // Known to newer libseccomp only; accepted so such profiles still load.
    {"SCMP_ARCH_LOONGARCH64", 0},
    {"loong64", 0},
    {"SCMP_ARCH_M68K", 0},
    {"m68k", 0},
    {"SCMP_ARCH_SH", 0},
    {"SCMP_ARCH_SHEB", 0},
});

constexpr auto kOps = std::to_array<NamedValue>({
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
});

template <size_t N>
std::optional<uint32_t> lookup(const std::array<NamedValue, N>& table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

// Where in the profile we are, so every message names the file and the entry.
struct Ctx {
  const std::string& path;
  std::string where;
  Error fail(std::string_view what) const {
    if (where.empty()) return Error::make("seccomp profile {}: {}", path, what);
    return Error::make("seccomp profile {}: {}: {}", path, where, what);
  }
  Ctx at(std::string_view sub) const {
    return Ctx{path, where.empty() ? std::string(sub) : where + " " + std::string(sub)};
  }
};

// Unknown keys are errors: a typo such as "arg" would silently widen a rule.
Status checkKeys(const json& object, std::initializer_list<std::string_view> known, const Ctx& ctx) {
  if (!object.is_object()) return ctx.fail("must be an object");
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      return ctx.fail(fmt::format("unknown key \"{}\"", key));
  }
  return okStatus();
}

Result<std::vector<std::string>> stringList(const json& value, const Ctx& ctx) {
  std::vector<std::string> out;
  if (value.is_null()) return out;
  if (!value.is_array()) return ctx.fail("must be an array of strings");
  for (const auto& item : value) {
    if (!item.is_string()) return ctx.fail("must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<uint64_t> unsignedField(const json& object, const char* key, uint64_t max, const Ctx& ctx) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return uint64_t{0};
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max)
    return ctx.fail(fmt::format("\"{}\" must be an integer from 0 to {}", key, max));
  return it->get<uint64_t>();
}

Result<uint32_t> archToken(const json& name, const Ctx& ctx) {
  if (!name.is_string()) return ctx.fail("architecture names must be strings");
  auto token = lookup(kArches, name.get<std::string>());
  if (!token) return ctx.fail(fmt::format("unknown architecture \"{}\"", name.get<std::string>()));
  return *token;
}

// Action names per the OCI runtime spec; errnoRet is the ERRNO value or the
// TRACE message, EPERM when absent (runc's choice).
Result<uint32_t> parseAction(const json& object, const char* actionKey, const char* errnoKey,
                             const Ctx& ctx) {
  auto it = object.find(actionKey);
  if (it == object.end() || !it->is_string())
    return ctx.fail(fmt::format("\"{}\" must be a string", actionKey));
  COCO_ASSIGN(uint64_t ret, unsignedField(object, errnoKey, 4095, ctx));
  if (!object.contains(errnoKey) || object[errnoKey].is_null()) ret = EPERM;
  const std::string name = it->get<std::string>();
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(static_cast<uint32_t>(ret));
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(static_cast<uint32_t>(ret));
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY")
    return ctx.fail("SCMP_ACT_NOTIFY is not supported (coco runs no seccomp agent)");
  return ctx.fail(fmt::format("unknown action \"{}\"", name));
}

Result<SeccompArg> parseArg(const json& object, const Ctx& ctx) {
  COCO_TRY(checkKeys(object, {"index", "value", "valueTwo", "op"}, ctx));
  SeccompArg arg;
  if (!object.contains("index")) return ctx.fail("\"index\" is required");
  COCO_ASSIGN(uint64_t index, unsignedField(object, "index", 5, ctx));
  arg.index = static_cast<unsigned>(index);
  COCO_ASSIGN(arg.value, unsignedField(object, "value", UINT64_MAX, ctx));
  COCO_ASSIGN(arg.valueTwo, unsignedField(object, "valueTwo", UINT64_MAX, ctx));
  auto op = object.find("op");
  if (op == object.end() || !op->is_string()) return ctx.fail("\"op\" must be a string");
  auto value = lookup(kOps, op->get<std::string>());
  if (!value) return ctx.fail(fmt::format("unknown op \"{}\"", op->get<std::string>()));
  arg.op = static_cast<scmp_compare>(*value);
  return arg;
}

Result<SeccompCondition> parseCondition(const json& object, const Ctx& ctx) {
  SeccompCondition cond;
  if (object.is_null()) return cond;
  COCO_TRY(checkKeys(object, {"caps", "arches", "minKernel"}, ctx));
  if (object.contains("caps")) {
    COCO_ASSIGN(cond.caps, stringList(object["caps"], ctx.at("caps")));
    for (const auto& cap : cond.caps) {
      if (!cap.starts_with("CAP_")) return ctx.fail(fmt::format("unknown capability \"{}\"", cap));
    }
  }
  if (object.contains("arches")) {
    COCO_ASSIGN(auto names, stringList(object["arches"], ctx.at("arches")));
    for (const auto& name : names) {
      COCO_ASSIGN(uint32_t token, archToken(name, ctx));
      cond.arches.push_back(token);
    }
  }
  if (object.contains("minKernel") && !object["minKernel"].is_null()) {
    const auto& text = object["minKernel"];
    auto version = text.is_string() ? parseKernelVersion(text.get<std::string>()) : std::nullopt;
    if (!version) return ctx.fail("\"minKernel\" must be a string like \"4.8\"");
    cond.minKernel = version;
  }
  return cond;
}

std::string ruleLabel(size_t i, const std::vector<std::string>& names) {
  if (names.empty()) return fmt::format("syscalls[{}]", i);
  return fmt::format("syscalls[{}] ({}{})", i, names.front(), names.size() > 1 ? ", ..." : "");
}

Result<std::vector<std::string>> ruleNames(const json& object, const Ctx& ctx) {
  std::vector<std::string> names;
  if (object.contains("names")) {
    COCO_ASSIGN(names, stringList(object["names"], ctx.at("names")));
  }
  // "name" is the pre-OCI single-name form some old Docker profiles use.
  if (object.contains("name")) {
    if (!object["name"].is_string()) return ctx.fail("\"name\" must be a string");
    names.push_back(object["name"].get<std::string>());
  }
  if (names.empty()) return ctx.fail("\"names\" must list at least one syscall");
  return names;
}

Result<SeccompRule> parseRule(const json& object, size_t i, const Ctx& top) {
  Ctx entry = top.at(fmt::format("syscalls[{}]", i));
  COCO_TRY(checkKeys(
      object, {"names", "name", "action", "errnoRet", "args", "includes", "excludes", "comment"}, entry));
  SeccompRule rule;
  COCO_ASSIGN(rule.names, ruleNames(object, entry));
  rule.label = ruleLabel(i, rule.names);
  Ctx ctx = top.at(rule.label);
  COCO_ASSIGN(rule.action, parseAction(object, "action", "errnoRet", ctx));
  if (object.contains("args") && !object["args"].is_null()) {
    if (!object["args"].is_array()) return ctx.fail("\"args\" must be an array");
    for (size_t a = 0; a < object["args"].size(); ++a) {
      COCO_ASSIGN(auto arg, parseArg(object["args"][a], ctx.at(fmt::format("args[{}]", a))));
      rule.args.push_back(arg);
    }
  }
  if (object.contains("includes")) {
    COCO_ASSIGN(rule.includes, parseCondition(object["includes"], ctx.at("includes")));
  }
  if (object.contains("excludes")) {
    COCO_ASSIGN(rule.excludes, parseCondition(object["excludes"], ctx.at("excludes")));
  }
  return rule;
}

// Only the native arch is ever compiled in; the lists are still checked so a
// typo is reported rather than ignored.
Status checkArches(const json& root, const Ctx& ctx) {
  if (root.contains("architectures")) {
    COCO_ASSIGN(auto names, stringList(root["architectures"], ctx.at("architectures")));
    for (const auto& name : names) COCO_TRY(archToken(name, ctx.at("architectures")));
  }
  if (!root.contains("archMap") || root["archMap"].is_null()) return okStatus();
  if (!root["archMap"].is_array()) return ctx.fail("\"archMap\" must be an array");
  for (const auto& entry : root["archMap"]) {
    Ctx at = ctx.at("archMap");
    COCO_TRY(checkKeys(entry, {"architecture", "subArchitectures"}, at));
    COCO_TRY(archToken(entry.value("architecture", json()), at));
    COCO_ASSIGN(auto subs, stringList(entry.value("subArchitectures", json()), at));
    for (const auto& name : subs) COCO_TRY(archToken(name, at));
  }
  return okStatus();
}

Result<SeccompProfile> parseRoot(const json& root, const Ctx& ctx) {
  COCO_TRY(checkKeys(root,
                     {"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags",
                      "listenerPath", "listenerMetadata", "comment"},
                     ctx));
  if (!root.value("listenerPath", std::string()).empty())
    return ctx.fail("\"listenerPath\" is not supported (coco runs no seccomp agent)");
  SeccompProfile profile;
  if (!root.contains("defaultAction")) return ctx.fail("\"defaultAction\" is required");
  COCO_ASSIGN(profile.defaultAction, parseAction(root, "defaultAction", "defaultErrnoRet", ctx));
  COCO_TRY(checkArches(root, ctx));
  if (!root.contains("syscalls") || root["syscalls"].is_null()) return profile;
  if (!root["syscalls"].is_array()) return ctx.fail("\"syscalls\" must be an array");
  for (size_t i = 0; i < root["syscalls"].size(); ++i) {
    COCO_ASSIGN(auto rule, parseRule(root["syscalls"][i], i, ctx));
    profile.rules.push_back(std::move(rule));
  }
  return profile;
}

size_t lineOf(std::string_view text, size_t byte) {
  byte = std::min(byte, text.size());
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(byte), '\n'));
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

std::optional<KernelVersion> parseKernelVersion(std::string_view text) {
  KernelVersion v;
  const char* end = text.data() + text.size();
  auto major = std::from_chars(text.data(), end, v.major);
  if (major.ec != std::errc() || major.ptr == end || *major.ptr != '.') return std::nullopt;
  auto minor = std::from_chars(major.ptr + 1, end, v.minor);
  if (minor.ec != std::errc()) return std::nullopt;
  return v;
}

Result<SeccompProfile> parseProfile(std::string_view text, const std::string& path) {
  Ctx ctx{path, ""};
  try {
    json root = json::parse(text);
    if (!root.is_object()) return ctx.fail("the top level must be an object");
    return parseRoot(root, ctx);
  } catch (const json::parse_error& e) {
    return Error::make("seccomp profile {}: invalid JSON at line {} (byte {}): {}", path,
                       lineOf(text, e.byte), e.byte, e.what());
  } catch (const json::exception& e) {
    return Error::make("seccomp profile {}: {}", path, e.what());
  }
}

SeccompHost currentHost(std::vector<std::string> caps) {
  SeccompHost host;
  host.arch = seccomp_arch_native();
  struct utsname uts {};
  if (::uname(&uts) == 0) host.kernel = parseKernelVersion(uts.release).value_or(KernelVersion{});
  host.caps = std::move(caps);
  return host;
}

bool ruleApplies(const SeccompRule& rule, const SeccompHost& host) {
  const auto& in = rule.includes;
  const auto& ex = rule.excludes;
  auto hasArch = [&](const std::vector<uint32_t>& arches) {
    return std::find(arches.begin(), arches.end(), host.arch) != arches.end();
  };
  if (!ex.arches.empty() && hasArch(ex.arches)) return false;
  for (const auto& cap : ex.caps) {
    if (contains(host.caps, cap)) return false;
  }
  if (ex.minKernel && host.kernel >= *ex.minKernel) return false;
  if (!in.arches.empty() && !hasArch(in.arches)) return false;
  for (const auto& cap : in.caps) {
    if (!contains(host.caps, cap)) return false;
  }
  if (in.minKernel && host.kernel < *in.minKernel) return false;
  return true;
}

}  // namespace coco::engine
