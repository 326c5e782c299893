#!/bin/sh
# Builds the OCI images the OCI tests import, in DIR (made; must not exist):
#   DIR/layout          an OCI layout, tag `app`: two layers built with umoci from the host's
#                       busybox-static; the second deletes /etc/doomed of the first (a whiteout).
#                       User app (1000:1000, groups app and staff), Env GREETING=hello,
#                       WorkingDir /srv, Entrypoint [/bin/sh, -c], Cmd ["echo from-cmd"].
#   DIR/app.tar         the same as an oci-archive (a tar of the layout)
#   DIR/app-docker.tar  the same as a docker-archive (skopeo copy oci:… docker-archive:…)
#   DIR/truncated.tar   app.tar cut in the middle
#   DIR/bad-digest.tar  an oci-archive whose layer blob was altered (its name, the digest, not)
#   DIR/dotdot.tar, absolute.tar, symlink.tar, hardlink.tar, device.tar
#                       oci-archives with one crafted layer holding `../escape`, `/etc/escape`,
#                       a symlink to ../../../etc/shadow, a hard link to ../outside, a device node
set -eu
dir=$1
umask 022
mkdir "$dir"
cd "$dir"
umoci init --layout layout
umoci new --image layout:app

umoci unpack --image layout:app bundle
root=bundle/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/srv" "$root/tmp"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for tool in sh id true cat env pwd ls test; do ln -s busybox "$root/bin/$tool"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n' >"$root/etc/group"
echo 'this file is deleted by the second layer' >"$root/etc/doomed"
chown 1000:1000 "$root/srv"
umoci repack --image layout:app bundle
rm -rf bundle

umoci unpack --image layout:app bundle
rm "$root/etc/doomed"
echo 'added by the second layer' >"$root/srv/hello"
umoci repack --image layout:app bundle
rm -rf bundle

umoci config --image layout:app --config.user=app --config.env=GREETING=hello \
    --config.env=PATH=/bin --config.workingdir=/srv \
    --config.entrypoint=/bin/sh --config.entrypoint=-c --config.cmd='echo from-cmd'
umoci gc --layout layout

skopeo copy -q oci:layout:app oci-archive:app.tar:app
skopeo copy -q oci:layout:app docker-archive:app-docker.tar:app:latest
head -c "$(( $(stat -c %s app.tar) / 2 ))" app.tar >truncated.tar

python3 - <<'PY'
import gzip, hashlib, io, json, os, shutil, tarfile

def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(f"{layout}/blobs/sha256/{digest}", "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}

def archive(name, members):
    """An oci-archive with one gzip layer holding `members` (TarInfo, bytes or None)."""
    layout = name + ".layout"
    os.makedirs(f"{layout}/blobs/sha256")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    plain = raw.getvalue()
    layer = blob(layout, gzip.compress(plain))
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    config = blob(layout, json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(plain).hexdigest()]}}).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = blob(layout, json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                        "config": config, "layers": [layer]}).encode())
    manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    manifest["annotations"] = {"org.opencontainers.image.ref.name": "app"}
    json.dump({"schemaVersion": 2, "manifests": [manifest]}, open(f"{layout}/index.json", "w"))
    json.dump({"imageLayoutVersion": "1.0.0"}, open(f"{layout}/oci-layout", "w"))
    with tarfile.open(name + ".tar", "w") as tar:
        for entry in sorted(os.listdir(layout)):
            tar.add(f"{layout}/{entry}", arcname=entry)
    shutil.rmtree(layout)

def entry(name, kind=tarfile.REGTYPE, link="", data=b"x"):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None

etc = tarfile.TarInfo("etc"); etc.type = tarfile.DIRTYPE; etc.mode = 0o755
archive("dotdot", [(etc, None), entry("etc/../../escape")])
archive("absolute", [(etc, None), entry("/etc/escape")])
archive("symlink", [(etc, None), entry("etc/shadow-link", tarfile.SYMTYPE, "../../../etc/shadow")])
archive("hardlink", [(etc, None), entry("etc/link", tarfile.LNKTYPE, "../outside")])
device = tarfile.TarInfo("etc/mem"); device.type = tarfile.CHRTYPE; device.devmajor = 1; device.devminor = 1; device.mode = 0o600
archive("device", [(etc, None), (device, None)])

# The good archive with one byte of its biggest layer changed: the blob keeps its name (its digest).
os.makedirs("bad-digest.layout")
with tarfile.open("app.tar") as tar:
    tar.extractall("bad-digest.layout")
blobs = "bad-digest.layout/blobs/sha256"
biggest = max(os.listdir(blobs), key=lambda b: os.path.getsize(f"{blobs}/{b}"))
with open(f"{blobs}/{biggest}", "r+b") as f:
    f.seek(os.path.getsize(f"{blobs}/{biggest}") // 2)
    byte = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([byte[0] ^ 0xff]))
with tarfile.open("bad-digest.tar", "w") as tar:
    for entry in sorted(os.listdir("bad-digest.layout")):
        tar.add(f"bad-digest.layout/{entry}", arcname=entry)
shutil.rmtree("bad-digest.layout")
PY
