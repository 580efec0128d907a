#!/usr/bin/env python3
"""A stand-in for CircleCI's orb API on loopback, for tests: the GraphQL query the circleci CLI
(and mexec) sends for an orb's source, answered from fixture files DIR/NS/NAME/VERSION.yml.

  POST any path  {"query": "...orbVersion(orbVersionRef: $orbVersionRef)...",
                  "variables": {"orbVersionRef": "NS/NAME@VERSION"}}
  -> {"data": {"orbVersion": {"id", "version", "orb": {"id", "name"}, "source"}}}
     or {"data": {"orbVersion": null}} for an unknown orb or version.

Like the real API it resolves X, X.Y and volatile to the newest matching version.  Test hooks:
orb NAME "broken" answers HTTP 500, "huge" a source over mexec's limit.  Every reference asked
for is appended to the log file, one per line, so a test can tell which runs asked.

usage: fake_orb_api.py FIXTURE_DIR PORT_FILE LOG_FILE
"""
import http.server
import json
import os
import re
import sys
import uuid

FIXTURES, PORT_FILE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]


def versions(ns, name):
    d = os.path.join(FIXTURES, ns, name)
    if not os.path.isdir(d):
        return []
    out = []
    for f in os.listdir(d):
        m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)\.yml", f)
        if m:
            out.append(tuple(int(x) for x in m.groups()))
    return sorted(out)


def resolve(ns, name, want):
    """The exact version want stands for, or None."""
    have = versions(ns, name)
    if want == "volatile":
        return have[-1] if have else None
    parts = want.split(".")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        return None
    want_t = tuple(int(p) for p in parts)
    match = [v for v in have if v[: len(want_t)] == want_t]
    return match[-1] if match else None


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(length))
        ref = req.get("variables", {}).get("orbVersionRef", "")
        with open(LOG, "a") as log:
            log.write(ref + "\n")
        if "orbVersion(orbVersionRef: $orbVersionRef)" not in req.get("query", ""):
            return self.reply(400, {"errors": [{"message": "unexpected query"}]})
        m = re.fullmatch(r"([^/@]+)/([^/@]+)@(.+)", ref)
        if not m:
            return self.reply(200, {"errors": [{"message": "invalid orb reference " + ref}]})
        ns, name, want = m.groups()
        if name == "broken":
            return self.reply(500, {"errors": [{"message": "internal error"}]})
        if name == "huge":
            source = "description: " + "x" * (5 << 20) + "\n"
            version = "1.0.0"
        else:
            v = resolve(ns, name, want)
            if v is None:
                return self.reply(200, {"data": {"orbVersion": None}})
            version = "%d.%d.%d" % v
            with open(os.path.join(FIXTURES, ns, name, version + ".yml")) as f:
                source = f.read()
        orb_id = str(uuid.uuid5(uuid.NAMESPACE_URL, ns + "/" + name))
        self.reply(200, {"data": {"orbVersion": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, ref)),
            "version": version,
            "orb": {"id": orb_id, "name": ns + "/" + name},
            "source": source,
        }}})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
