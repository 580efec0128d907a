#!/usr/bin/python3
"""Write an OCI image layout with no container engine, for pushing with skopeo.

Why: the test hosts have no Docker engine; an image is only blobs and JSON, so this writes them
directly.  Layers are gzip streams at level 0 (stored blocks: instant to make, and skopeo keeps gzip
layers as they are, where it would compress plain tars itself) of tars holding one file of
seeded pseudo-random bytes (random so nothing compresses, seeded so a run is reproducible).

  make_image.py DIR TAG [--layers N] [--layer-size BYTES] [--platforms os/arch[/variant],...]
                [--busybox MESSAGE]

--busybox makes a runnable linux/amd64 image instead: one layer with the host's static busybox
as /bin/sh, whose command prints MESSAGE (for `docker run` in the VM tests).

--rootfs TAR makes a linux/amd64 image of one layer, the tar file as it is (e.g. a Debian tree
from mmdebstrap), with --cmd (JSON list) as its command; for the docker executor's VM tests.

With one platform the layout's index.json points at an image manifest; with several, at an
image index (push it with `skopeo copy --all`).  Prints the manifest JSON of each platform's
image on stdout, one per line, so callers can find layer digests.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def put_blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest


def layer_tar(name, payload):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def busybox_tar(path="/bin/busybox"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "tmp"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        with open(path, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        tar.addfile(info, io.BytesIO(data))
        for name in ("sh", "echo", "cat"):
            info = tarfile.TarInfo("bin/" + name)
            info.type, info.linkname, info.mtime = tarfile.SYMTYPE, "busybox", 0
            tar.addfile(info)
    return buf.getvalue()


def rootfs_image(root, tar_path, cmd):
    with open(tar_path, "rb") as f:
        tar = f.read()
    blob = gzip.compress(tar, compresslevel=6, mtime=0)
    layer = {"mediaType": MT_LAYER, "digest": put_blob(root, blob), "size": len(blob)}
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Cmd": cmd,
                         "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
              "rootfs": {"type": "layers",
                         "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "digest": put_blob(root, cfg),
                           "size": len(cfg)},
                "layers": [layer]}
    body = json.dumps(manifest, sort_keys=True).encode()
    print(json.dumps(manifest, sort_keys=True))
    return {"mediaType": MT_MANIFEST, "digest": put_blob(root, body), "size": len(body),
            "platform": {"os": "linux", "architecture": "amd64"}}


def image(root, plat, nlayers, size, rng, busybox=None):
    parts = plat.split("/")
    os_, arch = parts[0], parts[1]
    layers, diff_ids = [], []
    cmd = ["/bin/sh"]
    if busybox is not None:
        tar = busybox_tar()
        blob = gzip.compress(tar, compresslevel=1, mtime=0)
        layers.append({"mediaType": MT_LAYER, "digest": put_blob(root, blob), "size": len(blob)})
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        cmd = ["/bin/sh", "-c", "echo " + busybox]
        nlayers = 0
    for i in range(nlayers):
        tar = layer_tar(f"data/{arch}-{i}.bin", rng.randbytes(size))
        blob = gzip.compress(tar, compresslevel=0, mtime=0)
        d = put_blob(root, blob)
        layers.append({"mediaType": MT_LAYER, "digest": d, "size": len(blob)})
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
    config = {"architecture": arch, "os": os_,
              "config": {"Cmd": cmd},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if len(parts) > 2:
        config["variant"] = parts[2]
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "digest": put_blob(root, cfg),
                           "size": len(cfg)},
                "layers": layers}
    body = json.dumps(manifest, sort_keys=True).encode()
    platform = {"os": os_, "architecture": arch}
    if len(parts) > 2:
        platform["variant"] = parts[2]
    print(json.dumps(manifest, sort_keys=True))
    return {"mediaType": MT_MANIFEST, "digest": put_blob(root, body), "size": len(body),
            "platform": platform}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("tag")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--layer-size", type=int, default=64 * 1024)
    ap.add_argument("--platforms", default="linux/amd64")
    ap.add_argument("--seed", default="mexec")
    ap.add_argument("--busybox", metavar="MESSAGE")
    ap.add_argument("--rootfs", metavar="TAR")
    ap.add_argument("--cmd", default='["/bin/sh"]', help="JSON list (with --rootfs)")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    rng = random.Random(f"{a.seed}/{a.tag}")
    if a.rootfs:
        descs = [rootfs_image(a.dir, a.rootfs, json.loads(a.cmd))]
    else:
        descs = [image(a.dir, p, a.layers, a.layer_size, rng, a.busybox)
                 for p in a.platforms.split(",")]
    if len(descs) == 1:
        top = dict(descs[0])
        top.pop("platform")
    else:
        idx = json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": descs},
                         sort_keys=True).encode()
        top = {"mediaType": MT_INDEX, "digest": put_blob(a.dir, idx), "size": len(idx)}
    top["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    with open(os.path.join(a.dir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)


if __name__ == "__main__":
    main()
