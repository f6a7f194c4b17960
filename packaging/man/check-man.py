#!/usr/bin/env python3
"""check-man.py COCO COCO.1 COCO-CONFIG.5: the manual pages render without
warnings and name every command and variable `coco help` lists (they are made
from README.md, so this keeps the README's tables complete too)."""
import re
import subprocess
import sys

coco, page1, page5 = sys.argv[1:4]
failures = []


def render(page):
    r = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                       env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    if r.returncode != 0 or r.stderr.strip():
        failures.append(f"{page}: man -l: {r.returncode} {r.stderr.strip()}")
    return r.stdout


help_text = subprocess.run([coco, "help"], capture_output=True, text=True, check=True).stdout
commands = re.findall(r"^  ([a-z]+)\b", help_text.split("Symlink invocation:")[0], re.M)
variables = re.findall(r"^  (COCO_[A-Z_]+)", help_text, re.M)
man1 = render(page1)
man5 = render(page5)
for c in commands:
    if not re.search(r"^\s+coco " + c + r"\b", man1, re.M) and not re.search(r"\bcoco " + c + r"\b", man1):
        failures.append(f"coco(1) does not describe the command '{c}' (README's Commands table)")
for v in variables:
    if not re.search(r"^\s+" + v + r"\b", man1, re.M):
        failures.append(f"coco(1) does not describe {v} (README's Environment variables table)")
if "allowed_hosts" not in man5 or "KEYS" not in man5:
    failures.append("coco-config(5) lacks the config keys")
if len(commands) < 5 or len(variables) < 5:
    failures.append(f"coco help listed too little to check: {commands} {variables}")
for f in failures:
    print(f)
print(f"checked {len(commands)} commands and {len(variables)} variables")
sys.exit(1 if failures else 0)
