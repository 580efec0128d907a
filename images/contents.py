#!/usr/bin/env python3
"""images/contents.py NAME=MANIFEST...: the "Contents per image" table of docs/images.md.

Reads the manifest.json that each build writes (images/common/recipe-lib.sh) and prints one
Markdown table: a row per tool, a column per image, upstream versions (the manifests hold the
full package versions).  Typically:
  images/contents.py $(for i in debian-12 ubuntu-2004 ubuntu-2204 ubuntu-2404; do
      echo "$i=$(build/bin/mexec image path $i:current)/manifest.json"; done)
"""
import json
import re
import sys

ROWS = [
    ("Docker Engine", ["docker.io"]),
    ("containerd", ["containerd"]),
    ("runc", ["runc"]),
    ("docker compose", ["docker-compose-v2", "docker-compose"]),
    ("docker buildx", ["docker-buildx"]),
    ("git", ["git"]),
    ("jq", ["jq"]),
    ("curl", ["curl"]),
    ("python3", ["python3"]),
    ("gcc (build-essential)", ["gcc"]),
    ("make", ["make"]),
    ("OpenSSH client", ["openssh-client"]),
    ("OpenSSH server", ["openssh-server"]),
    ("sudo", ["sudo"]),
    ("unzip / zip", ["unzip", "zip"]),
    ("ca-certificates", ["ca-certificates"]),
    ("systemd", ["systemd"]),
    ("glibc", ["libc6"]),
    ("AppArmor", ["apparmor"]),
    ("iptables", ["iptables"]),
]


def upstream(version):
    """1:2.34.1-1ubuntu1.18 -> 2.34.1 (no epoch, no packaging revision)."""
    v = version.split(":", 1)[-1]
    v = v.rsplit("-", 1)[0] if "-" in v else v
    return re.sub(r"\+(ds|dfsg)\d*$", "", v)


def cell(packages, names):
    found = [(n, packages[n]) for n in names if n in packages]
    if not found:
        return "—"
    if len(names) > 1 and names[0] not in packages:
        return " / ".join(f"{upstream(v)} ({n})" for n, v in found)
    return " / ".join(upstream(v) for _, v in found)


def main(args):
    if not args or any("=" not in a for a in args):
        sys.exit(__doc__)
    images = []
    for arg in args:
        name, path = arg.split("=", 1)
        with open(path, encoding="utf-8") as f:
            images.append((name, json.load(f)))
    print("| | " + " | ".join(n for n, _ in images) + " |")
    print("| --- |" + " --- |" * len(images))
    print("| release (suite) | " + " | ".join(m.get("suite", "?") for _, m in images) + " |")
    print("| kernel | " + " | ".join(m.get("kernel_version", "?") for _, m in images) + " |")
    for label, names in ROWS:
        print(f"| {label} | " + " | ".join(cell(m.get("packages", {}), names) for _, m in images) + " |")
    print("| packages installed | " + " | ".join(str(m.get("package_count", "?")) for _, m in images) + " |")
    sizes = [m["artifacts"]["base.qcow2"]["size"] / 2**20 for _, m in images]
    print("| base.qcow2 | " + " | ".join(f"{s:.0f} MiB" for s in sizes) + " |")
    print("| built | " + " | ".join(m.get("build_date", "?")[:10] for _, m in images) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
