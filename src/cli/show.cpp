// The plain-words summary of a tool config for `coco show` and `coco get`.
#include "cli/show.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/paths.hpp"
#include "util/host_port.hpp"
#include "tool/base_image.hpp"
#include "tool/plan.hpp"
#include "tool/tool_layer.hpp"
#include "util/size.hpp"
#include "engine/workspace_guard.hpp"

namespace coco::cli {

namespace {

constexpr int kLabelWidth = 18;

void line(std::ostream& os, std::string_view label, std::string_view text) {
  os << fmt::format("  {:<{}}{}\n", label, kLabelWidth, text);
}

std::string networkText(const config::ToolConfig& c) {
  switch (c.network) {
    case NetworkMode::None: return "none (loopback only)";
    case NetworkMode::Host: return "host (shares the host's network stack)";
    case NetworkMode::Allowlist: return fmt::format("only {}", fmt::join(c.allowedHosts, ", "));
    case NetworkMode::Full: break;
  }
  return "full outbound access (no `network` or `allowed_hosts` key)";
}

std::string sourceNote(const std::string& written) {
  if (written == ".") return " (the directory you run it from)";
  if (!written.empty() && written.front() != '/' && written.front() != '~') return " (relative to where you run it)";
  return "";
}

void describeMounts(std::ostream& os, const config::ToolConfig& c, const ShowContext& ctx) {
  if (c.mounts.empty()) return line(os, "host paths:", "none");
  std::string_view label = "host paths:";
  for (const auto& m : c.mounts) {
    std::string src = config::expandSource(m.src, ctx.cwd, ctx.home);
    line(os, label, fmt::format("{}{} -> {}, {}", src, sourceNote(m.src), m.dst, m.readOnly ? "read-only" : "WRITABLE"));
    label = "";
  }
}

void describeCaBundle(std::ostream& os, const config::ToolConfig& c, const ShowContext& ctx) {
  auto view = caBundleView(c, ctx);
  // `network: none` has no bundle; a run widened by --learn or COCO_ALLOW_NETWORK gets it.
  std::string widened =
      c.network == NetworkMode::None ? "none (no network); a --learn or COCO_ALLOW_NETWORK run: " : "";
  if (view.host.empty())
    return line(
        os, "CA bundle:", widened.empty() ? "none on the host: TLS clients trust the image's own" : "none");
  if (view.at.empty())
    return line(os, "CA bundle:", fmt::format("{}NO PLACE, so runs are refused: {}", widened, view.error));
  line(os, "CA bundle:",
       fmt::format("{}the host's {}, read-only at {} (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS and others name it)",
                   widened, view.host, view.at));
}

void describeEnv(std::ostream& os, const config::ToolConfig& c) {
  std::vector<std::string> passed = c.envPassthrough;
  // The sandbox always gets the host's TERM and LANG; list them once.
  for (const char* always : {"TERM", "LANG"})
    if (std::find(passed.begin(), passed.end(), always) == passed.end()) passed.push_back(always);
  line(os, "host variables:", fmt::format("{} (when set on the host)", fmt::join(passed, ", ")));
  std::vector<std::string> names;
  for (const auto& kv : c.env) names.push_back(kv.first);
  if (!names.empty()) line(os, "sets variables:", fmt::format("{}", fmt::join(names, ", ")));
}

void describePorts(std::ostream& os, const config::ToolConfig& c) {
  std::vector<std::string> ports;
  for (const auto& p : c.ports)
    ports.push_back(fmt::format("{} -> {}", joinHostPort(p.hostAddr, p.hostPort), p.containerPort));
  line(os, "ports:", ports.empty() ? "none" : fmt::format("{}", fmt::join(ports, ", ")));
}

std::string sizeText(uint64_t bytes, const std::optional<config::SizeLimit>& given, unsigned defaultPercent) {
  if (bytes == 0) return given ? "unlimited" : "unlimited (default)";
  unsigned percent = given ? given->percent : defaultPercent;
  std::string share = percent ? fmt::format("{}% of the host's memory", percent) : "";
  if (!given) return fmt::format("{} (default: {})", formatSize(bytes), share);
  return share.empty() ? formatSize(bytes) : fmt::format("{} ({})", formatSize(bytes), share);
}

// What `limits` gives a run, and what enforces it here.
void describeLimits(std::ostream& os, const config::ToolConfig& c, const ShowContext& ctx) {
  engine::Limits l = tool::resolveLimits(c.limits, ctx.hostMemory);
  line(os, "memory:", sizeText(l.memoryBytes, c.limits.memory, tool::kDefaultMemoryPercent));
  line(os, "tasks:", l.pids ? fmt::format("{}{}", l.pids, c.limits.pids ? "" : " (default)") : "unlimited");
  line(os, "cpu:", l.cpuMillis ? fmt::format("{:g} CPUs", l.cpuMillis / 1000.0)
                               : c.limits.cpuMillis ? "unlimited" : "unlimited (default)");
  line(os, "scratch (tmpfs):",
       sizeText(l.tmpfsBytes, c.limits.tmpfs, tool::kDefaultTmpfsPercent) + " for /, /tmp and /dev/shm together");
  auto has = [&](const char* controller) {
    return std::find(ctx.cgroupControllers.begin(), ctx.cgroupControllers.end(), controller) !=
           ctx.cgroupControllers.end();
  };
  if (ctx.haveCgroup) {
    line(os, "limits enforced:", fmt::format("by a cgroup under {} ({}){}", ctx.cgroup, fmt::join(ctx.cgroupControllers, ", "),
                                             has("memory") ? "" : "; memory per process (RLIMIT_DATA)"));
    if (!has("cpu") && l.cpuMillis) line(os, "", "the cpu limit is not enforced: the cgroup has no cpu controller");
    return;
  }
  line(os, "limits enforced:", "by rlimits: memory per process (RLIMIT_DATA), tasks per sandbox (RLIMIT_NPROC)");
  line(os, "", fmt::format("{}no cgroup: {}", l.cpuMillis ? "the cpu limit is not enforced; " : "", ctx.cgroup));
}

std::string landlockText(int abi) {
  if (abi <= 0) return "off: this kernel has no Landlock";
  return fmt::format("on (ABI {}): writes only where the mounts allow them; {}", abi,
                     abi >= 6 ? "abstract unix sockets and signals stay inside the sandbox"
                              : "this kernel cannot keep abstract unix sockets and signals inside the sandbox "
                                "(ABI 6)");
}

// What the workspace guard keeps from the tool (engine/workspace_guard.hpp has the list).
void describeGuard(std::ostream& os, const config::ToolConfig& c) {
  if (!c.workspaceGuard) {
    line(os, "workspace guard:", "OFF (workspace_guard: false): the tool can plant files the host runs");
    return;
  }
  line(os, "workspace guard:",
       c.guardGitWrite ? "on, git: write (the workspace's .git takes git's object, ref and index writes; its "
                         "config, hooks and the rest stay read-only)"
                       : "on, .git read-only");
  std::vector<std::string_view> names(std::begin(engine::kGuardedNames), std::end(engine::kGuardedNames));
  line(os, "", "in writable mounts: every .git and git directory, core.hooksPath; and");
  line(os, "", fmt::format("{}, mise.*.toml", fmt::join(names.begin() + 1, names.end(), ", ")));
  line(os, "",
       "at the mount root, the current directory and those between, repository roots and where they "
       "already are (not in node_modules and other dependency trees)");
  line(os, "", "present ones read-only at the top of a mount; new ones removed (reported on stderr)");
}

// Where the install may connect: what coco derives, and the config's own lists.
void describeInstallHosts(std::ostream& os, const config::ToolConfig& c, const InstallHostsView& v) {
  if (!tool::needsLayer(c)) return line(os, "install hosts:", "none (nothing is installed)");
  std::vector<std::string> parts;
  if (!v.error.empty()) parts.push_back(fmt::format("none derived: {}", v.error));
  else if (!v.derived.empty()) parts.push_back(fmt::format("{} (derived)", fmt::join(v.derived, ", ")));
  if (!c.installHosts.empty()) parts.push_back(fmt::format("{} (install_hosts)", fmt::join(c.installHosts, ", ")));
  if (!c.allowedHosts.empty()) parts.push_back(fmt::format("{} (allowed_hosts)", fmt::join(c.allowedHosts, ", ")));
  line(os, "install hosts:", parts.empty() ? std::string("none") : fmt::format("{}", fmt::join(parts, "; ")));
  for (const auto& manager : v.unknown) {
    if (manager == "apt" && !v.baseImage) {
      line(os, "", "apt: the base image's sources, read once it is built");
      continue;
    }
    line(os, "", fmt::format("{}: sources not found; name them in install_hosts, or set COCO_INSTALL_NETWORK=host",
                             manager));
  }
}

void describeRest(std::ostream& os, const config::ToolConfig& c, const ShowContext& ctx) {
  std::string seccomp = c.seccomp == "default" ? "default profile" : c.seccomp == "unconfined" ? "UNCONFINED" : c.seccomp;
  line(os, "seccomp:", seccomp);
  line(os, "landlock:", landlockText(ctx.landlockAbi));
  describeGuard(os, c);
  if (c.x11) line(os, "x11:", "yes (X socket and auth cookie)");
  if (c.allowHome)
    line(os, "allow home:", "yes: a writable mount may expose your home, a directory above it or /");
  if (c.isolated) line(os, "caches:", "isolated (not shared with other tools)");
  if (!c.caches.empty())
    line(os, "kept caches:",
         fmt::format("{}: read-write, kept between this tool's runs in {}/{}/", fmt::join(c.caches, ", "),
                     ctx.runCaches.empty() ? "$XDG_CACHE_HOME/coco/run-caches" : ctx.runCaches, c.name));
  if (!c.aptDependencies.empty()) line(os, "apt packages:", fmt::format("{}", fmt::join(c.aptDependencies, ", ")));
  if (!c.miseDependencies.empty()) line(os, "mise tools:", fmt::format("{}", fmt::join(c.miseDependencies, ", ")));
  if (!c.podmanArgs.empty()) line(os, "podman args:", fmt::format("{} (podman/docker runtimes only)", fmt::join(c.podmanArgs, " ")));
}

}  // namespace

CaBundleView caBundleView(const config::ToolConfig& c, const ShowContext& ctx) {
  CaBundleView view;
  view.host = ctx.caBundle;
  if (view.host.empty()) return view;
  std::vector<engine::BindMount> mounts;
  for (const auto& m : c.mounts)
    mounts.push_back({config::expandSource(m.src, ctx.cwd, ctx.home), m.dst, m.readOnly});
  auto place = tool::caBundlePlace(mounts, c);
  if (place)
    view.at = *place;
  else
    view.error = place.error().message();
  return view;
}

InstallHostsView installHostsView(const config::ToolConfig& config) {
  InstallHostsView v;
  auto base = tool::loadBaseImage("");
  v.baseImage = base && base->has_value();
  image::Image image = v.baseImage ? **base : image::Image{};
  auto hosts = tool::derivedInstallHosts(config, image, tool::HostConfigSource::fromProcess());
  if (!hosts) {
    v.error = hosts.error().describe();
    return v;
  }
  v.derived = hosts->hosts;
  v.unknown = hosts->unknown;
  return v;
}

std::string describeConfig(const config::ToolConfig& c, const ShowContext& ctx) {
  std::ostringstream os;
  os << c.name << "  (" << c.path << ")\n";
  line(os, "runs:", c.tool ? fmt::format("{}, installed with mise from {}", c.command, *c.tool)
                           : fmt::format("{}, as found in the image", c.command));
  describeMounts(os, c, ctx);
  line(os, "workdir:", c.workdir);
  describeEnv(os, c);
  line(os, "network:", networkText(c));
  describeCaBundle(os, c, ctx);
  if (ctx.install) describeInstallHosts(os, c, *ctx.install);
  describePorts(os, c);
  describeRest(os, c, ctx);
  describeLimits(os, c, ctx);
  auto warnings = sandboxWarnings(c, ctx);
  for (const auto& w : warnings) os << "WARNING: " << w << "\n";
  return os.str();
}

}  // namespace coco::cli
