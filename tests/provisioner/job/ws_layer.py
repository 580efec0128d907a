#!/usr/bin/python3
"""Writes a workspace layer as an upstream job's guest could, for workspace_test.c:

    ws_layer.py OUT [--gzip] MEMBER...

MEMBER is f:PATH (a file holding "x"), d:PATH (a directory), l:PATH=TARGET (a symbolic link)
or h:PATH=TARGET (a hard link to member TARGET).  Names are written as given: "..", absolute
and very long ones included (GNU tar would not write those; a hostile guest can)."""
import io
import sys
import tarfile

out, args = sys.argv[1], sys.argv[2:]
mode = "w:gz" if "--gzip" in args else "w"
with tarfile.open(out, mode, format=tarfile.PAX_FORMAT) as t:
    for spec in args:
        if spec == "--gzip":
            continue
        kind, _, rest = spec.partition(":")
        path, _, target = rest.partition("=")
        info = tarfile.TarInfo(path)
        data = None
        if kind == "f":
            data = b"x"
            info.size = 1
        elif kind == "d":
            info.type = tarfile.DIRTYPE
        elif kind == "l":
            info.type = tarfile.SYMTYPE
            info.linkname = target
        elif kind == "h":
            info.type = tarfile.LNKTYPE
            info.linkname = target
        else:
            sys.exit("unknown member kind " + kind)
        t.addfile(info, io.BytesIO(data) if data else None)
