#!/usr/bin/env python3
"""Writes the local registries of tests/registries: a TLS CA and server certificate, a PEP 503
simple index with a wheel built here, a GOPROXY file tree of a module written here, and a
sparse cargo index with a .crate packed here. Nothing is downloaded.

  make_registries.py tls DIR NAME...            DIR/ca.pem, DIR/server.pem, DIR/server.key
  make_registries.py pypi ROOT DECOY_ROOT DECOY_URL [WHEEL...]   (WHEELs: served too, e.g. pip's)
  make_registries.py goproxy ROOT
  make_registries.py cargo ROOT DL_URL PROBE_HOST
"""
import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

# The installed tools print these; the test checks them.
PIP_GREETING = "cocohello 1.0.0 from the local simple index"
GO_GREETING = "cocohello 1.0.0 from the local GOPROXY"
CARGO_GREETING = "cocohello 1.0.0 from the local cargo registry"
FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def tls(out, names):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=coco test CA",
        "-keyout", str(out / "ca.key"), "-out", str(out / "ca.pem"),
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={names[0]}",
        "-keyout", str(out / "server.key"), "-out", str(out / "server.csr"))
    ext = out / "server.ext"
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\nsubjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
    run("openssl", "x509", "-req", "-in", str(out / "server.csr"), "-CA", str(out / "ca.pem"),
        "-CAkey", str(out / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(ext),
        "-out", str(out / "server.pem"))


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, FIXED_TIME), data)
    return buf.getvalue()


def wheel(name, version, greeting):
    """A pure-Python wheel with one console script, as a build backend would write it."""
    dist = f"{name}-{version}.dist-info"
    files = [
        (f"{name}/__init__.py",
         "import sys\n\ndef main():\n"
         f"    if sys.argv[1:] == ['--version']:\n        print('{name} {version}')\n        return 0\n"
         f"    print({greeting!r})\n    return 0\n"),
        (f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        (f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: coco-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{dist}/entry_points.txt", f"[console_scripts]\n{name} = {name}:main\n"),
    ]
    record = []
    for path, text in files:
        digest = hashlib.sha256(text.encode()).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={b64},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files.append((f"{dist}/RECORD", "\n".join(record) + "\n"))
    return f"{name}-{version}-py3-none-any.whl", zip_bytes([(p, t.encode()) for p, t in files])


def simple_page(links):
    body = "".join(f'<a href="{href}">{text}</a><br/>\n' for href, text in links)
    return f"<!DOCTYPE html>\n<html><body>\n{body}</body></html>\n"


def pypi(root, decoy_root, decoy_url, *wheels):
    """cocohello: served by this index. cocodecoy: listed here, its file on another host."""
    root, decoy_root = Path(root), Path(decoy_root)
    projects = ["cocohello", "cocodecoy"]
    for path in map(Path, wheels):
        project = path.name.split("-")[0].lower().replace("_", "-")
        (root / "simple" / project).mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        (root / "simple" / project / path.name).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        (root / "simple" / project / "index.html").write_text(simple_page([(f"{path.name}#sha256={sha}", path.name)]))
        projects.append(project)
    fname, data = wheel("cocohello", "1.0.0", PIP_GREETING)
    (root / "simple/cocohello").mkdir(parents=True, exist_ok=True)
    (root / "simple/cocohello" / fname).write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    (root / "simple/cocohello/index.html").write_text(simple_page([(f"{fname}#sha256={sha}", fname)]))
    dname, ddata = wheel("cocodecoy", "1.0.0", "cocodecoy: must never be installed")
    decoy_root.mkdir(parents=True, exist_ok=True)
    (decoy_root / dname).write_bytes(ddata)
    dsha = hashlib.sha256(ddata).hexdigest()
    (root / "simple/cocodecoy").mkdir(parents=True, exist_ok=True)
    (root / "simple/cocodecoy/index.html").write_text(
        simple_page([(f"{decoy_url.rstrip('/')}/{dname}#sha256={dsha}", dname)]))
    (root / "simple/index.html").write_text(simple_page([(f"{p}/", p) for p in projects]))


def goproxy(root):
    """example.coco/cocohello v1.0.0 as a module proxy serves it (go.dev/ref/mod#goproxy-protocol)."""
    module, version = "example.coco/cocohello", "v1.0.0"
    gomod = f"module {module}\n\ngo 1.19\n"
    main = ('package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n'
            '\tif len(os.Args) > 1 && os.Args[1] == "--version" {\n\t\tfmt.Println("cocohello 1.0.0")\n\t\treturn\n\t}\n'
            f'\tfmt.Println("{GO_GREETING}")\n}}\n')
    d = Path(root) / module / "@v"
    d.mkdir(parents=True, exist_ok=True)
    (d / "list").write_text(version + "\n")
    (d / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2026-01-01T00:00:00Z"}) + "\n")
    (d / f"{version}.mod").write_text(gomod)
    prefix = f"{module}@{version}/"
    (d / f"{version}.zip").write_bytes(zip_bytes([(prefix + "go.mod", gomod.encode()),
                                                  (prefix + "main.go", main.encode())]))


def tar_gz(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1767225600
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def cargo(root, dl_url, probe_host):
    """cocohello 1.0.0 in a sparse index (doc.rust-lang.org/cargo/reference/registry-index.html).
    Its build script tries PROBE_HOST (a name the install may not reach) and a literal address,
    and the binary reports what the build saw."""
    name, version = "cocohello", "1.0.0"
    manifest = f'[package]\nname = "{name}"\nversion = "{version}"\nedition = "2021"\nbuild = "build.rs"\n'
    build = (
        "use std::io::{Read, Write};\nuse std::net::{TcpStream, ToSocketAddrs};\nuse std::time::Duration;\n\n"
        "// ANSWERED only when a server sent something back: a sandbox's gateway accepts\n"
        "// every connection first and closes the ones it refuses.\n"
        "fn attempt(target: &str) -> String {\n"
        "    let addr = match target.to_socket_addrs() {\n"
        "        Err(e) => return format!(\"lookup failed ({e})\"),\n"
        "        Ok(mut a) => match a.next() { Some(a) => a, None => return \"no address\".into() },\n"
        "    };\n"
        "    let mut s = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {\n"
        "        Ok(s) => s,\n"
        "        Err(e) => return format!(\"refused ({e})\"),\n"
        "    };\n"
        "    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));\n"
        "    let _ = s.write_all(b\"GET / HTTP/1.0\\r\\n\\r\\n\");\n"
        "    let mut buf = [0u8; 64];\n"
        "    match s.read(&mut buf) {\n"
        "        Ok(0) => \"closed without an answer\".into(),\n"
        "        Ok(_) => \"ANSWERED\".into(),\n"
        "        Err(e) => format!(\"no answer ({e})\"),\n"
        "    }\n}\n\n"
        "fn main() {\n"
        f"    let by_name = attempt(\"{probe_host}\");\n"
        "    let by_address = attempt(\"192.0.2.1:443\");\n"
        "    let out = std::path::Path::new(&std::env::var(\"OUT_DIR\").unwrap()).join(\"probe.rs\");\n"
        "    std::fs::write(out, format!(\"const BY_NAME: &str = {by_name:?};\\nconst BY_ADDRESS: &str = {by_address:?};\\n\")).unwrap();\n"
        "}\n")
    main = ('include!(concat!(env!("OUT_DIR"), "/probe.rs"));\n\n'
            "fn main() {\n"
            '    if std::env::args().nth(1).as_deref() == Some("--version") {\n'
            f'        println!("{name} {version}");\n        return;\n    }}\n'
            f'    println!("{CARGO_GREETING}");\n'
            '    println!("build script, by name: {BY_NAME}");\n'
            '    println!("build script, by address: {BY_ADDRESS}");\n}\n')
    prefix = f"{name}-{version}/"
    crate = tar_gz([(prefix + "Cargo.toml", manifest.encode()), (prefix + "build.rs", build.encode()),
                    (prefix + "src/main.rs", main.encode())])
    root = Path(root)
    (root / "crates").mkdir(parents=True, exist_ok=True)
    (root / "crates" / f"{name}-{version}.crate").write_bytes(crate)
    (root / "index/co/co").mkdir(parents=True, exist_ok=True)
    (root / "index/config.json").write_text(json.dumps({"dl": dl_url.rstrip("/") + "/crates/{crate}-{version}.crate"}))
    entry = {"name": name, "vers": version, "deps": [], "cksum": hashlib.sha256(crate).hexdigest(),
             "features": {}, "yanked": False}
    (root / "index/co/co" / name).write_text(json.dumps(entry) + "\n")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"tls": lambda: tls(args[0], args[1:]), "pypi": lambda: pypi(*args), "goproxy": lambda: goproxy(*args),
     "cargo": lambda: cargo(*args)}[cmd]()


if __name__ == "__main__":
    main()
