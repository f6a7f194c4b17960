#!/usr/bin/env python3
"""The GitHub Action (packaging/github-action) run as GitHub runs it, as an unprivileged user.

Its steps are read from action.yml and run in order with GitHub's variables
(CI, GITHUB_ACTIONS, GITHUB_ACTION_PATH, GITHUB_OUTPUT, RUNNER_TEMP ...); the
actions/cache step is played by a directory that outlives the "runners" (each
run has a fresh HOME, so a fresh coco store, as a fresh CI machine has):

  1. attacks first: a cache directory inside the project is refused before
     anything runs; AppArmor's restriction without a loadable profile and
     without sudo fails setup with what to do;
  2. run 1: `npm ci` of a fixture project from the real npm registry (the only
     host its policy allows), then `npm test` under a policy with no network;
  3. run 2, on a fresh runner: the base image and npm's cache come from the CI
     cache; `npm ci --offline` succeeds, so nothing had to be downloaded.

Prints the timings of both runs. Each check is a test case in the XML file
--gtest_output=xml:FILE names (how tests/run-all collects gtest results).
Exit 0 passed, 1 failed.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xml.etree.ElementTree as ET

import yaml

SRC = Path(__file__).resolve().parents[2]
ACTION = SRC / "packaging" / "github-action"
COCO = os.environ.get("COCO_BIN", "")
failures = []
cases = []  # (name, failure message or None)


def check(cond, what, detail=""):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    cases.append((re.sub(r" \([0-9.]+s\)", "", what), None if cond else (detail[-2000:] or "failed")))
    if not cond:
        failures.append(what)
        if detail:
            print(detail[-4000:], flush=True)
    return cond


def write_xml(path):
    suite = ET.Element("testsuite", name="CiAction", tests=str(len(cases)),
                       failures=str(sum(1 for _, f in cases if f)))
    for name, failure in cases:
        case = ET.SubElement(suite, "testcase", name=name, classname="CiAction")
        if failure:
            ET.SubElement(case, "failure", message=failure.strip().splitlines()[0] if failure.strip() else "failed"
                          ).text = failure
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path)


def run(argv, env, cwd, timeout=1800):
    start = time.monotonic()
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - start


class Runner:
    """One fresh CI machine: its own HOME (so its own coco store and caches)."""

    def __init__(self, root, name, workspace, ci_cache, extra_env):
        self.home = root / name
        self.home.mkdir()
        (self.home / "bin").mkdir()
        os.symlink(COCO, self.home / "bin" / "coco")  # coco on PATH, as after the package
        self.temp = self.home / "runner-temp"
        self.temp.mkdir()
        self.workspace = workspace
        self.ci_cache = ci_cache  # plays actions/cache: key -> saved tree
        self.to_save = []
        self.env = {
            "PATH": f"{self.home}/bin:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home), "USER": os.environ.get("USER", "nobody"), "LANG": "C.UTF-8",
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(ACTION), "RUNNER_OS": "Linux", "RUNNER_TEMP": str(self.temp),
            "RUNNER_ARCH": "X64", "GITHUB_REPOSITORY": "example/fixture", "GITHUB_RUN_ID": "1",
        }
        for k in ("TMPDIR", "XDG_RUNTIME_DIR", "COCO_DEBUG"):
            if os.environ.get(k):
                self.env[k] = os.environ[k]
        self.env.update(extra_env)

    def expand(self, text, inputs, outputs):
        def value(expr):
            expr = expr.strip()
            if m := re.fullmatch(r"inputs\.([\w-]+)", expr):
                return inputs.get(m[1], "")
            if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
                return outputs.get(m[1], {}).get(m[2], "")
            if m := re.fullmatch(r"hashFiles\(inputs\.([\w-]+)\)", expr):
                f = self.workspace / inputs.get(m[1], "")
                return hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else ""
            if expr == "runner.os":
                return "Linux"
            raise AssertionError(f"action.yml uses an expression this test does not play: {expr}")
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: value(m[1]), text)

    def restore(self, paths, key, restore_keys):
        """actions/cache: the exact key, else the newest key with a listed prefix."""
        hit = None
        if (self.ci_cache / key).is_dir():
            hit = key
        else:
            for prefix in restore_keys:
                found = sorted((p for p in self.ci_cache.iterdir() if p.name.startswith(prefix)),
                               key=lambda p: p.stat().st_mtime)
                if found:
                    hit = found[-1].name
                    break
        if hit:
            for i, path in enumerate(paths):
                saved = self.ci_cache / hit / str(i)
                if saved.exists():
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    subprocess.run(["cp", "-a", str(saved), path], check=True)
        if hit != key:
            self.to_save.append((key, paths))  # the post step saves under the new key
        return {"cache-hit": "true" if hit == key else "false"}

    def post(self):
        """The job's end: actions/cache's post steps save what they restored nothing exact for."""
        for key, paths in self.to_save:
            dest = self.ci_cache / key
            if dest.exists():
                continue
            tmp = self.ci_cache / (".tmp-" + key)
            tmp.mkdir()
            for i, path in enumerate(paths):
                if Path(path).exists():
                    subprocess.run(["cp", "-a", path, str(tmp / str(i))], check=True)
            tmp.rename(dest)
        self.to_save.clear()

    def use_action(self, inputs, env=None):
        """One `uses:` of the action: its steps in order, as GitHub runs a composite action."""
        action = yaml.safe_load((ACTION / "action.yml").read_text())
        for name, spec in action["inputs"].items():
            inputs.setdefault(name, spec.get("default", ""))
        outputs, log, total = {}, "", 0.0
        for step in action["runs"]["steps"]:
            if "uses" in step:
                assert step["uses"].startswith("actions/cache@"), step["uses"]
                w = {k: self.expand(str(v), inputs, outputs) for k, v in step["with"].items()}
                paths = [p.strip() for p in w["path"].splitlines() if p.strip()]
                keys = [k.strip() for k in w.get("restore-keys", "").splitlines() if k.strip()]
                outputs[step.get("id", "")] = self.restore(paths, w["key"], keys)
                continue
            out_file = self.temp / "github_output"
            out_file.write_text("")
            step_env = dict(self.env, GITHUB_OUTPUT=str(out_file), **(env or {}))
            step_env.update({k: self.expand(str(v), inputs, outputs) for k, v in step.get("env", {}).items()})
            script = self.expand(step["run"], inputs, outputs)
            p, secs = run(["bash", "-e", "-c", script], step_env, self.workspace)
            total += secs
            log += f"--- {step['name']} ({secs:.1f}s, exit {p.returncode})\n{p.stdout}{p.stderr}"
            if "id" in step:
                outputs[step["id"]] = dict(l.split("=", 1) for l in out_file.read_text().splitlines() if "=" in l)
            if p.returncode != 0:
                return p.returncode, log, total
        return 0, log, total


def npm_registry(env, cwd):
    p, _ = run(["/usr/bin/npm", "config", "get", "registry"], env, cwd, 120)
    url = p.stdout.strip()
    m = re.match(r"^https?://([^/:]+)", url)
    if not m:
        raise SystemExit(f"npm config get registry: {p.stdout}{p.stderr}")
    return url, m[1]


def fixture(project, url, host):
    (project / ".coco").mkdir(parents=True)
    (project / "package.json").write_text(json.dumps({
        "name": "coco-ci-fixture", "version": "1.0.0", "private": True,
        "scripts": {"test": "node test.js"},
        "dependencies": {"is-number": "7.0.0"}}, indent=2) + "\n")
    (project / "test.js").write_text(
        "const isNumber = require('is-number');\n"
        "if (!isNumber(5) || isNumber('x')) { console.error('is-number is broken'); process.exit(1); }\n"
        "console.log('fixture tests passed');\n")
    mount = [{"src": ".", "dst": "/workspace"}]
    (project / ".coco/npm-ci.json").write_text(json.dumps({
        "command": "npm", "mounts": mount, "allowed_hosts": [host],
        "env": {"NPM_CONFIG_REGISTRY": url}, "caches": ["npm"]}, indent=2) + "\n")
    (project / ".coco/npm-test.json").write_text(json.dumps({
        "command": "npm", "mounts": mount, "network": "none"}, indent=2) + "\n")


def main():
    if not COCO:
        print("COCO_BIN must name the coco binary")
        return 1
    root = Path(tempfile.mkdtemp(prefix="coco-ci-action-"))
    try:
        return scenario(root)
    finally:
        subprocess.run(["chmod", "-R", "u+rwX", str(root)], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def published_base(root, env):
    """The base image a team publishes (the action's base-image input): run-all's
    registry for the user without a subuid range, else the e2e tests' base saved
    as an OCI layout; none: the action builds one."""
    if os.environ.get("COCO_BASE_IMAGE"):
        return os.environ["COCO_BASE_IMAGE"]
    store = Path(env["HOME"]) / ".local/share/coco-e2e-test"
    if not (store / "images/coco-base.json").exists():
        return ""
    out = root / "published.oci"
    p, secs = run([COCO, "save", "-o", str(out)], dict(env, COCO_STORAGE=str(store)), str(root))
    check(p.returncode == 0, f"the e2e tests' base image saved as the published one ({secs:.1f}s)", p.stderr)
    return f"oci:{out}" if p.returncode == 0 else ""


def gitlab(root, project, previous):
    """The GitLab template (packaging/gitlab) on a fresh runner: GitLab restores its cache
    into the project; before_script moves it out (coco-ci import), so the sandbox, which
    is given the project, never sees what the next run trusts; after_script moves it back."""
    job = yaml.safe_load((SRC / "packaging/gitlab/coco.gitlab-ci.yml").read_text())[".coco"]
    kept = project / job["cache"]["paths"][0].rstrip("/")
    p, _ = run(["bash", str(ACTION / "coco-ci"), "export", str(kept)], previous.env, str(project))
    check(p.returncode == 0 and (kept / "base/base.oci/index.json").is_file()
          and any((kept / "run-caches").glob("npm+config-*/npm/_cacache")),
          "gitlab: coco-ci export puts the base image and the tool caches into the project's cache dir",
          p.stdout + p.stderr)
    shutil.rmtree(project / "node_modules", ignore_errors=True)
    r3 = Runner(root, "runner3", project, root / "ci-cache", {})
    env = dict(r3.env, CI_PROJECT_DIR=str(project), CI_JOB_NAME="npm", GITLAB_CI="true")
    del env["GITHUB_ACTIONS"]
    env.update({k: str(v) for k, v in job["variables"].items()})
    if not Path(env["COCO_CI"]).is_file():  # not installed from the package: the source's copy
        env["COCO_CI"] = str(ACTION / "coco-ci")
    script = "\n".join(job["before_script"] + [
        "test ! -e .coco-ci-cache || { echo 'the kept files are still in the project'; exit 1; }",
        "coco-ci run --config .coco/npm-ci.json npm ci --offline",
        "coco-ci run --config .coco/npm-test.json npm test",
        # What a tool given the project could do: plant a base image for the next run.
        "mkdir -p .coco-ci-cache/base/base.oci && echo planted > .coco-ci-cache/base/base.oci/planted"])
    p, secs = run(["bash", "-e", "-c", script], env, str(project))
    check(p.returncode == 0 and "fixture tests passed" in p.stdout + p.stderr
          and "base image: the cached one" in p.stderr,
          f"gitlab: before_script imports, the script runs on the kept base image and npm cache ({secs:.1f}s)",
          p.stdout + p.stderr)
    p, _ = run(["bash", "-e", "-c", "\n".join(job["after_script"])], env, str(project))
    check(p.returncode == 0 and (kept / "base/base.oci/index.json").is_file()
          and not (kept / "base/base.oci/planted").exists() and not (r3.home / ".cache/coco-ci/base.oci").exists(),
          "gitlab: after_script moves what is kept back into the project, nothing a tool planted there", p.stdout + p.stderr)


def scenario(root):
    user_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    npm_env = dict(user_env, HOME=str(root / "npm-home"))
    url, host = npm_registry(npm_env, str(root))
    project = root / "workspace"
    fixture(project, url, host)
    # The lock file, as the project's developers committed it.
    p, _ = run(["/usr/bin/npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
               npm_env, str(project), 600)
    if not check(p.returncode == 0 and (project / "package-lock.json").is_file(), "the fixture's lock file",
                 p.stdout + p.stderr):
        return 1
    base = published_base(root, user_env)
    ci_cache = root / "ci-cache"
    ci_cache.mkdir()
    run_inputs = lambda run_, config: {"run": run_, "config": config, "base-image": base}  # noqa: E731

    # 1. Attacks first.
    r0 = Runner(root, "runner0", project, ci_cache, {})
    code, log, _ = r0.use_action(run_inputs("npm ci", ".coco/npm-ci.json"),
                                 env={"COCO_CI_CACHE_DIR": str(project / ".coco-cache")})
    check(code != 0 and "inside the directory coco runs from" in log and not (project / "node_modules").exists(),
          "a cache directory inside the project (which the sandbox may write) is refused, nothing runs", log)
    r0.to_save.clear()
    (project / "keep-me").write_text("the project\n")
    for bad in (".", str(project.parent), "/", str(r0.home)):
        for verb in ("import", "export"):
            p, _ = run(["bash", str(ACTION / "coco-ci"), verb, bad], r0.env, str(project))
            check(p.returncode == 2 and "would be emptied" in p.stderr and (project / "keep-me").is_file(),
                  f"coco-ci {verb} of a directory holding the project, /, or HOME is refused, nothing removed"
                  if bad == "." else f"coco-ci {verb} {bad.replace(str(root), 'ROOT')} is refused",
                  p.stdout + p.stderr)
    restricted = root / "userns-restricted"
    restricted.write_text("1\n")
    p, _ = run(["bash", str(ACTION / "coco-ci"), "setup"],
               dict(r0.env, COCO_CI_USERNS_SYSCTL=str(restricted), COCO_CI_APPARMOR_PROFILE=str(root / "none")),
               str(project))
    check(p.returncode != 0 and "kernel.apparmor_restrict_unprivileged_userns=1" in p.stderr
          and "::error" in p.stdout, "AppArmor's restriction without a profile or sudo fails setup, saying what to do",
          p.stdout + p.stderr)
    restricted.write_text("0\n")
    p, _ = run(["bash", str(ACTION / "coco-ci"), "setup"], dict(r0.env, COCO_CI_USERNS_SYSCTL=str(restricted)),
               str(project))
    check(p.returncode == 0 and "not restricted" in p.stderr, "setup with user namespaces allowed",
          p.stdout + p.stderr)

    # 2. Run 1: a fresh runner, an empty cache.
    r1 = Runner(root, "runner1", project, ci_cache, {})
    code, log1, t_ci1 = r1.use_action(run_inputs("npm ci", ".coco/npm-ci.json"))
    check(code == 0 and (project / "node_modules/is-number/package.json").is_file(),
          f"run 1: npm ci installs the fixture's dependencies from the registry ({t_ci1:.1f}s)", log1)
    npm_caches = list((r1.home / ".cache/coco/run-caches").glob("npm+config-*/npm/_cacache"))
    check(len(npm_caches) == 1, "run 1: npm's cache is kept in the tool's own run cache", log1)
    check((r1.home / ".cache/coco-ci/base.oci/index.json").is_file(), "run 1: the base image is saved for the cache",
          log1)
    code, log, t_test1 = r1.use_action(run_inputs("npm test", ".coco/npm-test.json"))
    check(code == 0 and "fixture tests passed" in log, f"run 1: npm test, offline ({t_test1:.1f}s)", log)
    r1.post()

    # 3. Run 2: another fresh runner; what run 1 kept comes from the CI cache.
    shutil.rmtree(project / "node_modules")
    r2 = Runner(root, "runner2", project, ci_cache, {})
    code, log2, t_ci2 = r2.use_action(run_inputs("npm ci --offline", ".coco/npm-ci.json"))
    check(code == 0 and (project / "node_modules/is-number/package.json").is_file(),
          f"run 2: npm ci --offline from the restored npm cache ({t_ci2:.1f}s)", log2)
    check("base image: the cached one" in log2, "run 2: the base image comes from the cache", log2)
    code, log, t_test2 = r2.use_action(run_inputs("npm test", ".coco/npm-test.json"))
    check(code == 0 and "fixture tests passed" in log, f"run 2: npm test, offline ({t_test2:.1f}s)", log)
    gitlab(root, project, r2)
    print(f"[ timing ] run 1 (empty cache): npm ci {t_ci1:.1f}s, npm test {t_test1:.1f}s; "
          f"run 2 (restored cache): npm ci --offline {t_ci2:.1f}s, npm test {t_test2:.1f}s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    xml_out = next((a.split("xml:", 1)[1] for a in sys.argv[1:] if a.startswith("--gtest_output=xml:")), "")
    try:
        code = main()
    except Exception as e:  # noqa: BLE001 - reported as a failed case, with the traceback on stderr
        import traceback
        traceback.print_exc()
        check(False, "the scenario ran to its end", repr(e))
        code = 1
    if xml_out:
        write_xml(xml_out)
    sys.exit(code)
