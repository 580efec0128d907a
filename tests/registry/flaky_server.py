#!/usr/bin/python3
"""A fake registry that fails on purpose, for the client's retry paths (loopback only).

  flaky_server.py PORT [REALM_LOG]
GET /v2/            503 with Retry-After: 1 twice, then 200 (counter per server run)
GET /v2/busy/...    always 429 with Retry-After: 2
GET /v2/date/...    503 with an HTTP-date Retry-After in the past once, then 404
GET /v2/cut/blobs/* BLOB (below), but the first answer closes the connection half-way
GET /v2/realm-elsewhere/...  401 Bearer, realm on another host over plain http
                    (http://127.0.0.2:PORT/token, still loopback); with a Bearer token, 404
The realm on 127.0.0.2 answers any token request and appends the Authorization header it got
("" for none) as one line to REALM_LOG, so a test can see whether credentials reached it.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
REALM_LOG = sys.argv[2] if len(sys.argv) > 2 else None
COUNTS = {}
BLOB = b"mexec-blob-content\n" * 4096


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def send(self, status, headers=(), body=b"{}"):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        key = self.path.split("/")[2] if self.path.count("/") > 2 else self.path
        n = COUNTS[key] = COUNTS.get(key, 0) + 1
        if self.path == "/v2/":
            return self.send(503, [("Retry-After", "1")]) if n <= 2 else self.send(200)
        if key == "busy":
            return self.send(429, [("Retry-After", "2")],
                             b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}')
        if key == "cut":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BLOB)))
            self.end_headers()
            self.wfile.write(BLOB if n > 1 else BLOB[: len(BLOB) // 2])
            self.close_connection = True
            return None
        if key == "date" and n == 1:
            return self.send(503, [("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")])
        if key == "realm-elsewhere" and not self.headers.get("Authorization", "").startswith(
                "Bearer "):
            realm = 'Bearer realm="http://127.0.0.2:%d/token",service="flaky"' % PORT
            return self.send(401, [("WWW-Authenticate", realm)],
                             b'{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}')
        self.send(404, body=b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}')


class Realm(BaseHTTPRequestHandler):
    """A token server on another host than the registry: records what it was sent."""

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        if REALM_LOG:
            with open(REALM_LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps(self.headers.get("Authorization", "")) + "\n")
        body = b'{"token": "realm-elsewhere-token"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


realm = ThreadingHTTPServer(("127.0.0.2", PORT), Realm)
threading.Thread(target=realm.serve_forever, daemon=True).start()
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
