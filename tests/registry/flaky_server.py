#!/usr/bin/python3
"""A fake registry that fails on purpose, for the client's retry paths (loopback only).

  flaky_server.py PORT
GET /v2/            503 with Retry-After: 1 twice, then 200 (counter per server run)
GET /v2/busy/...    always 429 with Retry-After: 2
GET /v2/date/...    503 with an HTTP-date Retry-After in the past once, then 404
GET /v2/cut/blobs/* BLOB (below), but the first answer closes the connection half-way
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
        self.send(404, body=b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}')


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
