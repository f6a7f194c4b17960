#!/usr/bin/env python3
"""tests/run-all's helper: runs the 'integration' suites as a given user and sums all results.

  suites.py integration BUILD USER MODE RESULTS_DIR WORK_DIR [EXTRA_ENV=VALUE...]
      Runs every test of suite 'integration' (from `meson introspect --tests`;
      COCO_TEST_ONLY=NAME,... narrows to those tests, GTEST_FILTER is passed on)
      as USER via runuser, with a clean environment plus the test's own env,
      COCO_TEST_IDMAP=MODE and EXTRA_ENV; gtest tests write XML to RESULTS_DIR,
      other protocols are judged by exit code (77 = skipped).
  suites.py summary FILE_OR_DIR...
      Sums meson junit files, gtest XML files and result records; prints the
      skipped and failed tests, then one last line `N passed, N failed, N skipped`.
      Exits 1 when anything failed or nothing ran.
"""
import json
import re
import os
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

INTEGRATION = "integration"


def introspect(build):
    out = subprocess.run(["meson", "introspect", "--tests", build], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def is_integration(test):
    return any(s.split(":")[-1] == INTEGRATION for s in test.get("suite", []))


def write_record(results, name, outcome, message):
    """A one-case junit file for a test that left no XML (crash, timeout, exit-code protocol)."""
    suite = ET.Element("testsuite", name=name, tests="1")
    case = ET.SubElement(suite, "testcase", name="run", classname=name)
    if outcome == "failed":
        ET.SubElement(case, "failure", message=message).text = message
    elif outcome == "skipped":
        ET.SubElement(case, "skipped", message=message)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(Path(results) / f"{name}.junit.xml")


def selected(test):
    """COCO_TEST_ONLY=NAME[,NAME...] (meson test names) narrows a developer's run."""
    only = [n for n in os.environ.get("COCO_TEST_ONLY", "").split(",") if n]
    return not only or test["name"] in only


def default_signals():
    """In the test's process, before its exec: every signal at its default and none blocked, as
    from a fresh login. Whatever ignored one above this runner (a script's `.ci/run &` leaves
    SIGINT and SIGQUIT ignored) must not reach the tests: coco keeps a signal its parent left
    ignored, and the tests check what coco does with Ctrl-C."""
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # the real-time signals glibc keeps for itself
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def run_integration(build, user, mode, results, workdir, extra):
    tests = [t for t in introspect(build) if is_integration(t) and selected(t)]
    if not tests:
        print("suites.py: no test registered in suite 'integration'", file=sys.stderr)
    pw_home = subprocess.run(["getent", "passwd", user], capture_output=True, text=True,
                             check=True).stdout.split(":")[5]
    for test in tests:
        name = f"{test['name']}@{user}"
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": pw_home, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
            "TMPDIR": str(Path(workdir) / "tmp"),
            "CI": os.environ.get("CI", ""),
            "COCO_TEST_IDMAP": mode,
        }
        env.update(test.get("env") or {})
        for kv in extra:
            k, _, v = kv.partition("=")
            env[k] = v
        cmd = list(test["cmd"])
        xml = Path(results) / f"{name}.xml"
        gtest = test.get("protocol") == "gtest"
        if gtest:
            cmd += [f"--gtest_output=xml:{xml}"]
            if os.environ.get("GTEST_FILTER"):
                env["GTEST_FILTER"] = os.environ["GTEST_FILTER"]
        argv = ["runuser", "-u", user, "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()] + cmd
        timeout = test.get("timeout") or 30  # meson's own limit for the test
        print(f"=== {test['name']} as {user} (id map: {mode}, COCO_BIN={env.get('COCO_BIN', '')})", flush=True)
        cwd = test.get("workdir") or build
        proc = subprocess.Popen(argv, cwd=cwd, start_new_session=True, preexec_fn=default_signals,
                                stdout=subprocess.PIPE if gtest else None)
        reader = None
        if gtest:
            reader = BriefOutput(proc.stdout)
            reader.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            tree = process_tree(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            running = reader.running if reader else None
            message = f"timed out after {timeout}s" + (f" in {running}" if running else "")
            print(f"{name}: {message}; its processes then:\n{tree}", flush=True)
            write_record(results, name, "failed", message)
            continue
        finally:
            if reader:
                reader.join(timeout=5)
                if reader.is_alive():
                    # The test exited, but a process it left still holds its output open.
                    reader.flush()
                    print(f"{name}: processes it left hold its output open:\n{leftovers(user)}", flush=True)
        if test.get("protocol") == "gtest" and xml.exists():
            if code != 0 and not has_failure(xml):
                write_record(results, name + "-exit", "failed", f"exit {code} with no failed case")
            continue
        if code == 0:
            write_record(results, name, "passed", "")
        elif code == 77:
            write_record(results, name, "skipped", "exit 77")
        else:
            write_record(results, name, "failed", f"exit code {code}")


class BriefOutput(threading.Thread):
    """Passes a gtest binary's output on without the passed cases' [ RUN ] / [ OK ]
    lines and the suites' [----------] lines (what GTEST_BRIEF prints), but
    remembers the case that is running, so a timeout can name it. A case's own
    output (and what processes it started wrote) is shown only when it fails.
    gtest's markers are found anywhere in a line: a child's output without a
    final newline runs into the next marker."""

    MARKER = re.compile(r"\[ RUN      \] |\[       OK \] |\[----------\] |\[  FAILED  \] |\[  SKIPPED \] ")

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.running = None
        self.held = []
        self.lock = threading.Lock()

    def run(self):
        for raw in self.stream:
            with self.lock:
                self.take(raw.decode(errors="replace"))
        self.flush()

    def take(self, line):
        m = self.MARKER.search(line)
        if m and m.start() > 0:  # a child's unterminated output, then gtest's marker
            self.take(line[:m.start()] + "\n")
            line = line[m.start():]
            m = self.MARKER.match(line)
        marker = m.group(0) if m else ""
        if marker == "[ RUN      ] ":
            self.running = line[len(marker):].strip()
            self.held = [line]
        elif marker in ("[       OK ] ", "[----------] "):
            self.running, self.held = None, []
        elif self.running:
            self.held.append(line)
            if marker in ("[  FAILED  ] ", "[  SKIPPED ] "):
                self.write("".join(self.held))
                self.running, self.held = None, []
        else:
            self.write(line)

    def flush(self):
        """What is held when the output ends (or when the test exited and something it
        left holds the pipe open): a case that never finished."""
        with self.lock:
            if self.held:
                self.write("".join(self.held))
                self.held = []

    @staticmethod
    def write(text):
        sys.stdout.write(text)
        sys.stdout.flush()


def leftovers(user):
    """The test user's processes (a test ends with none but its runtimes' own daemons)."""
    out = subprocess.run(["ps", "-u", user, "-o", "pid=,ppid=,etime=,args="], capture_output=True, text=True).stdout
    return out.rstrip() or "(none)"


def process_tree(pid):
    """The test's process and all its descendants (a sandbox may lead a session
    of its own), for the report of a timeout."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,stat=,etime=,wchan:20=,args="],
                         capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        f = line.split(None, 5)
        if len(f) >= 5:
            rows[int(f[0])] = (int(f[1]), line)
    keep, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        if p in rows:
            keep.append(rows[p][1])
        frontier += [c for c, (pp, _) in rows.items() if pp == p]
    return "\n".join(keep) or "(none)"


def has_failure(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return False
    return any(c.find("failure") is not None or c.find("error") is not None
               for c in root.iter("testcase"))


def xml_files(paths):
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(p.rglob("*.xml"))
        elif p.exists():
            yield p


def summary(paths):
    passed, failed, skipped = 0, [], []
    for path in xml_files(paths):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            failed.append(f"{path.name}: unreadable results ({e})")
            continue
        # gtest files are named TEST@USER.xml; junit files (meson's, records) name their suites.
        label = "" if path.name.endswith(".junit.xml") else path.name.split(".xml")[0] + ": "
        for suite in root.iter("testsuite"):
            for case in suite.findall("testcase"):
                name = f"{label}{suite.get('name')}.{case.get('name')}"
                fail = case.find("failure")
                if fail is None:
                    fail = case.find("error")
                skip = case.find("skipped")
                if fail is not None:
                    first = (fail.get("message") or fail.text or "").strip().splitlines()
                    failed.append(f"{name}: {first[0] if first else ''}")
                elif skip is not None or case.get("result") == "skipped":
                    msg = skip.get("message", "") if skip is not None else ""
                    skipped.append(f"{name}: {msg.strip()}")
                else:
                    passed += 1
    if skipped:
        print("Skipped:")
        for s in skipped:
            print(f"  {s}")
    if failed:
        print("Failed:")
        for f in failed:
            print(f"  {f}")
    print(f"{passed} passed, {len(failed)} failed, {len(skipped)} skipped")
    return 1 if failed or passed == 0 else 0


def main(argv):
    if len(argv) >= 7 and argv[1] == "integration":
        run_integration(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7:])
        return 0
    if len(argv) >= 3 and argv[1] == "summary":
        return summary(argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
