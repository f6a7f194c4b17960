#!/bin/bash
# Image integration test: a local docker-registry on 127.0.0.1, test images pushed with
# skopeo, pulled and imported by coco's image library (the coco-image test front end).
# Usage: image_test.sh COCO_IMAGE_BIN   (run it as an unprivileged user; root works too)
# Needs: docker-registry skopeo python3 busybox-static (or busybox) curl, util-linux unshare.
set -euo pipefail

TOOL=${1:?usage: image_test.sh PATH/TO/coco-image}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/coco-image-test.XXXXXX)
export COCO_STORAGE="$T/store"
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null || true
  # Layers may hold sub-id owned files: remove the store through the library's own prune.
  rm -f "$COCO_STORAGE"/images/* 2>/dev/null && "$TOOL" prune >/dev/null 2>&1 || true
  rm -rf "$T" 2>/dev/null || true
}
trap cleanup EXIT

fails=0
pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

for tool in docker-registry skopeo python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt install docker-registry skopeo python3 curl)"; exit 1; }
done
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || { echo "missing busybox (apt install busybox-static)"; exit 1; }

python3 "$HERE/make_image.py" "$T" "$BUSYBOX"

# --- registry on a free loopback port --------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$T/registry.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $T/registry}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
REG=127.0.0.1:$PORT

# skopeo's credentials from a file of the test's own: its default
# (${XDG_RUNTIME_DIR:-/run/containers/UID}/auth.json) is unreadable once root's
# podman has made /run/containers (0700), and skopeo then refuses to push.
export REGISTRY_AUTH_FILE=$T/auth.json
push() { skopeo --insecure-policy copy -q "$@" --dest-tls-verify=false; }
push "oci:$T/layout:v1" "docker://$REG/coco/busy:v1"
push --all "oci:$T/multi:v1" "docker://$REG/coco/multi:v1"
push "oci:$T/layout:v1" "docker://$REG/coco/corrupt:v1"
push "oci:$T/layout:evil" "docker://$REG/coco/evil:v1"

json_layers() { python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["layers"]))'; }

# Lists a path inside the overlay of the resolved layers (as the sandbox would see it).
in_overlay() {
  local layers=$1 path=$2 lower
  lower=$(echo "$layers" | paste -sd: -)
  mkdir -p "$T/ov/up" "$T/ov/work" "$T/ov/m"
  unshare -Urm sh -c "mount -t overlay overlay -o userxattr,lowerdir=$lower,upperdir=$T/ov/up,workdir=$T/ov/work $T/ov/m && ls -A $T/ov/m/$path"
}

# --- pull with two layers, whiteout and opaque dir ----------------------------
out=$("$TOOL" pull "$REG/coco/busy:v1" 2>"$T/pull.err") || { cat "$T/pull.err"; fail "pull busy:v1"; }
layers=$(echo "$out" | json_layers)
check "pull gives two layers" test "$(echo "$layers" | wc -l)" -eq 2
check "progress names the layers" grep -q "unpacked" "$T/pull.err"
top=$(echo "$layers" | head -1)
check "whiteout is a 0/0 char device" test "$(stat -c '%F %t:%T' "$top/etc/gone.txt")" = "character special file 0:0"
check "opaque dir has user.overlay.opaque" python3 -c "import os,sys; sys.exit(os.getxattr('$top/opq','user.overlay.opaque')!=b'y')"
etc=$(in_overlay "$layers" etc | tr '\n' ' ')
check "deleted file absent in the overlay ($etc)" test "$etc" = "added.txt keep.txt "
check "opaque dir hides the lower files" test "$(in_overlay "$layers" opq)" = "new"
check "busybox runs in the image" test "$(unshare -Urm sh -c "mount -t overlay overlay -o userxattr,lowerdir=$(echo "$layers" | paste -sd: -),upperdir=$T/ov/up,workdir=$T/ov/work $T/ov/m && chroot $T/ov/m /bin/sh -c 'cat /etc/keep.txt'")" = kept
check "second resolve uses the store (registry down is fine)" bash -c "kill -STOP $REG_PID; '$TOOL' resolve '$REG/coco/busy:v1' >/dev/null 2>&1; rc=\$?; kill -CONT $REG_PID; exit \$rc"

# --- save: the stored image as an OCI layout, pushed and pulled back unchanged ------------
check "save writes an OCI layout" "$TOOL" save "$REG/coco/busy:v1" "$T/saved"
check "skopeo reads the saved layout" bash -c "skopeo --insecure-policy inspect -n oci:$T/saved:latest >/dev/null"
# Ownership as the sandbox sees it: uid 1000 where unpack kept it (a subuid range), else 0.
owner=0; [ "$(stat -c %u "$top/home/owned.txt")" != "$(id -u)" ] && owner=1000
check "saved layers: digests, diff ids, whiteouts, owner $owner, hard link" python3 - "$T/saved" "$owner" <<'PY'
import gzip, hashlib, io, json, sys, tarfile
d, owner = sys.argv[1], int(sys.argv[2])
blob = lambda dg: open(f"{d}/blobs/sha256/{dg.split(':')[1]}", "rb").read()
index = json.load(open(f"{d}/index.json"))
manifest = json.loads(blob(index["manifests"][0]["digest"]))
config = json.loads(blob(manifest["config"]["digest"]))
assert config["config"]["Env"] == ["PATH=/bin", "COCO_TEST=1"], config
assert config["config"]["WorkingDir"] == "/work" and config["config"]["Cmd"] == ["/bin/sh"], config
names = {}
for desc, diff in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
    data = blob(desc["digest"])
    assert "sha256:" + hashlib.sha256(data).hexdigest() == desc["digest"] and len(data) == desc["size"]
    raw = gzip.decompress(data)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == diff, "diff id"
    for m in tarfile.open(fileobj=io.BytesIO(raw)):
        names[m.name] = m
assert ".wh.gone.txt" in str(sorted(names)) and "opq/.wh..wh..opq" in names, sorted(names)
assert names["etc/.wh.gone.txt"].isfile() and names["home/owned.txt"].uid == owner, names["home/owned.txt"].uid
assert names["home/owned.txt"].mode & 0o777 == 0o600
assert names["bin/busybox-hard"].islnk() and names["bin/busybox-hard"].linkname == "bin/busybox"
PY
push "oci:$T/saved:latest" "docker://$REG/coco/resaved:v1"
out=$(COCO_STORAGE="$T/store2" "$TOOL" pull "$REG/coco/resaved:v1" 2>"$T/resaved.err") || cat "$T/resaved.err"
relayers=$(echo "$out" | json_layers)
check "the saved image pulls back with the same files" test "$(in_overlay "$relayers" etc | tr '\n' ' ')/$(in_overlay "$relayers" opq)" = "added.txt keep.txt /new"
check "and the same owner" test "$(stat -c %u "$(echo "$relayers" | head -1)/home/owned.txt")" = "$(stat -c %u "$top/home/owned.txt")"
check "and the same environment" bash -c "echo '$out' | grep -q COCO_TEST=1"
rm -f "$T/store2"/images/* && COCO_STORAGE="$T/store2" "$TOOL" prune >/dev/null 2>&1
if "$TOOL" save "$REG/coco/busy:v1" "$T/saved" 2>"$T/save2.err"; then fail "save refuses an existing directory"; else
  check "save refuses an existing directory, naming it" grep -q "$T/saved already exists" "$T/save2.err"
fi
check "save to DIR/ makes DIR" bash -c "'$TOOL' save '$REG/coco/busy:v1' '$T/saved4/' 2>/dev/null && test -f '$T/saved4/index.json'"
if "$TOOL" save "$REG/coco/nothere:v1" "$T/saved3" 2>"$T/save3.err"; then fail "save of an unknown image"; else
  check "save of an unknown image names it, writes nothing" bash -c "grep -q 'no image' '$T/save3.err' && ! ls -d '$T'/saved3* 2>/dev/null"
fi

# --- manifest list: the host's platform ----------------------------------------
out=$("$TOOL" pull "$REG/coco/multi:v1" 2>"$T/multi.err") || { cat "$T/multi.err"; fail "pull multi"; }
check "manifest list picks linux/amd64 (2 layers, arm64 has 1)" test "$(echo "$out" | json_layers | wc -l)" -eq 2
check "manifest list noted" grep -q "manifest list" "$T/multi.err"

# --- malicious layer through the registry --------------------------------------------
if "$TOOL" pull "$REG/coco/evil:v1" >/dev/null 2>"$T/evil.err"; then fail "malicious layer refused"; else
  check "malicious layer refused naming the entry" grep -q "coco-evil-dotdot" "$T/evil.err"
fi
check "nothing written outside the store" test ! -e /tmp/coco-evil-dotdot -a ! -e /tmp/coco-evil-symlink

# --- local imports ---------------------------------------------------------------------
check "oci: import" bash -c "'$TOOL' resolve 'oci:$T/layout:v1' 2>/dev/null | grep -q layers/"
(cd "$T/layout" && tar -cf "$T/oci.tar" .)
check "oci-archive: import" bash -c "'$TOOL' resolve 'oci-archive:$T/oci.tar:v1' 2>/dev/null | grep -q layers/"
skopeo --insecure-policy copy -q "oci:$T/layout:v1" "docker-archive:$T/docker.tar:coco/busy:v1"
out=$("$TOOL" resolve "docker-archive:$T/docker.tar" 2>"$T/da.err") || cat "$T/da.err"
check "docker-archive: import keeps the whiteout" test "$(in_overlay "$(echo "$out" | json_layers)" etc | tr '\n' ' ')" = "added.txt keep.txt "
mkdir -p "$T/rootfs/etc" && echo hi > "$T/rootfs/etc/hello" && tar -C "$T/rootfs" -czf "$T/rootfs.tar.gz" .
out=$("$TOOL" resolve "rootfs:$T/rootfs.tar.gz" 2>/dev/null) || true
check "rootfs: tarball import" test "$(cat "$(echo "$out" | json_layers)/etc/hello")" = hi
check "rootfs: DIR in place" bash -c "'$TOOL' resolve 'rootfs:$T/rootfs' | grep -q '\"$T/rootfs\"'"
check "bad reference refused" bash -c "! '$TOOL' resolve 'Bad:Ref' 2>/dev/null"

# --- interrupted unpack leaves nothing used; next pull completes ------------------------
rm -rf "$COCO_STORAGE"/images/* && "$TOOL" prune >/dev/null
mkdir -p "$COCO_STORAGE/tmp/work-killed/layer-x" && echo half > "$COCO_STORAGE/tmp/work-killed/layer-x/f"
check "pull after a killed run" bash -c "'$TOOL' pull '$REG/coco/busy:v1' >/dev/null 2>&1"
check "leftover temporary removed" test ! -e "$COCO_STORAGE/tmp/work-killed"

# --- a corrupted blob (last: the registry shares it with busy:v1): error, nothing stored -----------------------------------------
big=$(ls -S "$T/layout/blobs/sha256" | head -1)  # the busybox layer
data="$T/registry/docker/registry/v2/blobs/sha256/${big:0:2}/$big/data"
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=0xff; open(p,'wb').write(b)" "$data"
rm -rf "$COCO_STORAGE"/images/* && "$TOOL" prune >/dev/null
if "$TOOL" pull "$REG/coco/corrupt:v1" >/dev/null 2>"$T/corrupt.err"; then fail "corrupt blob refused"; else
  check "corrupt blob refused with a digest error" grep -q "digest" "$T/corrupt.err"
fi
check "corrupt layer not stored" test ! -e "$COCO_STORAGE/layers/$big"
check "no record for the corrupt image" test -z "$(ls "$COCO_STORAGE/images")"
check "no temporary left" test -z "$(ls "$COCO_STORAGE/tmp")"

echo "image tests: $fails failure(s)"
[ "$fails" -eq 0 ]
