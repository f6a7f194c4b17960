#!/usr/bin/env python3
"""Builds the image tests' OCI layouts from the host's static busybox.

layout/ :v1   two layers: the second deletes etc/gone.txt (whiteout), makes opq/ opaque
              and adds home/owned.txt (uid 1000, mode 0600); bin/busybox-hard is a hard link
        :evil one layer with a `../` entry and a write through a symlink to /
multi/  :v1   an index: linux/amd64 (the v1 image) and linux/arm64 (one layer only)
"""
import gzip, hashlib, io, json, os, sys, tarfile

out = sys.argv[1]
busybox = sys.argv[2] if len(sys.argv) > 2 else "/bin/busybox"


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, data
                t.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, data
                t.addfile(info)
            else:
                info.mode = {"exe": 0o755, "owned": 0o600}.get(kind, 0o644)
                if kind == "owned":  # a file of another user of the image, unreadable to others
                    info.uid = info.gid = 1000
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{layout}/blobs/sha256", exist_ok=True)
    with open(f"{layout}/blobs/sha256/{digest}", "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def layer(layout, entries):
    raw = tar_bytes(entries)
    d = blob(layout, gzip.compress(raw, mtime=0))
    d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    return d, "sha256:" + hashlib.sha256(raw).hexdigest()


def image(layout, layers, arch="amd64"):
    descs = [layer(layout, l) for l in layers]
    config = {"architecture": arch, "os": "linux",
              "config": {"Env": ["PATH=/bin", "COCO_TEST=1"], "Cmd": ["/bin/sh"], "WorkingDir": "/work"},
              "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in descs]}}
    c = blob(layout, json.dumps(config).encode())
    c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": c, "layers": [d for d, _ in descs]}
    m = blob(layout, json.dumps(manifest).encode())
    m["mediaType"] = manifest["mediaType"]
    m["platform"] = {"architecture": arch, "os": "linux"}
    return m


def write_index(layout, entries):
    with open(f"{layout}/oci-layout", "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(f"{layout}/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}, f)


with open(busybox, "rb") as f:
    bb = f.read()
base = [("bin", "dir", None), ("bin/busybox", "exe", bb), ("bin/sh", "sym", "busybox"),
        ("bin/ls", "sym", "busybox"), ("bin/busybox-hard", "hard", "bin/busybox"), ("bin/cat", "sym", "busybox"), ("etc", "dir", None),
        ("etc/gone.txt", "file", b"deleted by the upper layer\n"), ("etc/keep.txt", "file", b"kept\n"),
        ("opq", "dir", None), ("opq/old", "file", b"hidden by the opaque dir\n"), ("work", "dir", None)]
top = [("etc", "dir", None), ("etc/.wh.gone.txt", "file", b""), ("opq", "dir", None),
       ("opq/.wh..wh..opq", "file", b""), ("opq/new", "file", b"new\n"), ("etc/added.txt", "file", b"added\n"),
       ("home", "dir", None), ("home/owned.txt", "owned", b"owned by 1000\n")]
evil = [("ok", "file", b"ok\n"), ("../../../../../../tmp/coco-evil-dotdot", "file", b"pwned\n"),
        ("root", "sym", "/"), ("root/tmp/coco-evil-symlink", "file", b"pwned\n")]

layout = f"{out}/layout"
v1 = image(layout, [base, top])
bad = image(layout, [evil])
write_index(layout, [dict(v1, annotations={"org.opencontainers.image.ref.name": "v1"}),
                     dict(bad, annotations={"org.opencontainers.image.ref.name": "evil"})])

multi = f"{out}/multi"
amd = image(multi, [base, top], "amd64")
arm = image(multi, [base], "arm64")
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [arm, amd]}
i = blob(multi, json.dumps(index).encode())
i["mediaType"] = index["mediaType"]
write_index(multi, [dict(i, annotations={"org.opencontainers.image.ref.name": "v1"})])
