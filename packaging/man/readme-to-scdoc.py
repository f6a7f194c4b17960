#!/usr/bin/env python3
"""Writes coco(1) or coco-config(5) in scdoc from README.md's tables, so the
manual pages and the README are one text: readme-to-scdoc.py README.md 1|5."""
import re
import sys


def section(text, title):
    """The body of '## title' up to the next '## ' heading."""
    m = re.search(r"^## " + re.escape(title) + r"\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        sys.exit(f"readme-to-scdoc: README has no section '{title}'")
    return m.group(1)


def escape(s):
    return s.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def inline(s):
    """Markdown inline text as scdoc: links lose their target, code becomes
    bold, *emphasis* underlined, scdoc's own markup characters escaped."""
    s = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", s).replace("\\|", "|")
    out = []
    for i, part in enumerate(re.split(r"`([^`]+)`", s)):
        if i % 2:
            out.append("*" + escape(part) + "*")
        else:
            pieces = re.split(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", part)
            out.extend("_" + escape(p) + "_" if j % 2 else escape(p) for j, p in enumerate(pieces))
    return "".join(out)


def table(body):
    """Rows of the first markdown table in body, without its header and rule."""
    rows = []
    for line in body.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if all(set(c) <= set("-: ") for c in cells):
            continue
        rows.append(cells)
    return rows[1:]


def paragraphs(body, stop_at_table=True):
    """The prose of body before (or after) its table, as scdoc paragraphs."""
    out, seen_table = [], False
    for block in body.strip().split("\n\n"):
        is_table = block.lstrip().startswith("|")
        seen_table = seen_table or is_table
        if is_table or block.startswith("    ") or block.startswith("#"):
            continue
        if stop_at_table == (not seen_table):
            out.append(inline(" ".join(l.strip() for l in block.splitlines())))
    return "\n\n".join(out)


def entries(rows, head):
    out = []
    for cells in rows:
        out.append(head(cells))
        out.append("\t" + inline(cells[-1]) + "\n")
    return "\n".join(out)


def page1(readme):
    commands = section(readme, "Commands")
    env = section(readme, "Environment variables")
    return "\n".join([
        "coco(1)", "",
        "# NAME", "", "coco - run developer tools in a rootless sandbox", "",
        "# SYNOPSIS", "",
        "*coco* _command_ [_options_] [_args_...]", "",
        "_tool_ [_args_...] (through a *coco up* link)", "",
        "# DESCRIPTION", "",
        "coco runs each configured tool in a sandbox it builds itself: its own user, mount, pid, "
        "network, ipc and uts namespaces, a seccomp filter, no capabilities, and only the host "
        "paths, variables and network hosts its config grants. Tool configs are described in "
        "*coco-config*(5).", "",
        "# COMMANDS", "",
        entries(table(commands), lambda c: inline(c[0])),
        "# EXIT STATUS", "",
        paragraphs(commands, stop_at_table=False), "",
        "# ENVIRONMENT", "",
        entries(table(env), lambda c: inline(c[0])),
        "# SEE ALSO", "", "*coco-config*(5), *bwrap*(1), *podman-run*(1)", "",
    ])


def page5(readme):
    config = section(readme, "Config reference")
    return "\n".join([
        "coco-config(5)", "",
        "# NAME", "", "coco-config - coco's tool configuration files", "",
        "# DESCRIPTION", "",
        paragraphs(config), "",
        "# KEYS", "",
        entries(table(config), lambda c: inline(f"{c[0]} ({c[1]}; default: {c[2]})")),
        "# SEE ALSO", "", "*coco*(1)", "",
    ])


def main():
    readme = open(sys.argv[1], encoding="utf-8").read()
    sys.stdout.write(page1(readme) if sys.argv[2] == "1" else page5(readme))


if __name__ == "__main__":
    main()
