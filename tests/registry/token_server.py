#!/usr/bin/python3
"""A registry token server (distribution docs/spec/auth/token.md) for tests, on loopback.

Why: Debian packages no token server.  It does what distribution 2.8 checks (seen against Debian's docker-registry 2.8.2):
RS256 JWTs with the signing certificate in the `x5c` header (the same certificate is the
registry's rootcertbundle) and claims iss, aud (= service), sub, exp, nbf, iat, jti, access.

  token_server.py --port P --key KEY.pem --cert CERT.pem --issuer I --service S
                  --users USERS.json --log LOG.jsonl

USERS.json: {"alice": {"password": "pw", "access": {"private/app": ["pull", "push"]},
             "reply": "both" | "token" | "access_token"}}
Wrong credentials get 401; anonymous or unlisted repositories get a token with no access (the
registry then answers insufficient_scope).  Each request is logged as one JSON line.
"""
import argparse
import base64
import datetime
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

LOCK = threading.Lock()


def make_handler(cfg):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # quiet: the JSON log says what matters
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path != "/token":
                return self.reply(404, {"details": "not found"})
            q = parse_qs(url.query)
            account, ok = None, True
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic "):
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                u = cfg.users.get(user)
                ok = u is not None and u["password"] == pw
                account = user
            scopes = q.get("scope", [])
            with LOCK, open(cfg.log, "a") as f:
                f.write(json.dumps({"account": account, "ok": ok, "scopes": scopes,
                                    "service": q.get("service", [None])[0]}) + "\n")
            if not ok:
                return self.reply(401, {"details": "incorrect username or password"})
            if q.get("service", [None])[0] != cfg.service:
                return self.reply(400, {"details": "unknown service"})
            allowed = cfg.users.get(account, {}).get("access", {}) if account else {}
            access = []
            for scope in scopes:
                for item in scope.split(" "):
                    parts = item.split(":")
                    if len(parts) != 3 or parts[0] != "repository":
                        continue
                    granted = [a for a in parts[2].split(",") if a in allowed.get(parts[1], [])]
                    if granted:
                        access.append({"type": "repository", "name": parts[1],
                                       "actions": granted})
            now = int(time.time())
            claims = {"iss": cfg.issuer, "aud": cfg.service, "sub": account or "",
                      "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()),
                      "access": access}
            token = jwt.encode(claims, cfg.key, algorithm="RS256",
                               headers={"x5c": [cfg.cert_b64]})
            style = cfg.users.get(account, {}).get("reply", "both") if account else "both"
            body = {"expires_in": 300,
                    "issued_at": datetime.datetime.utcfromtimestamp(now).isoformat() + "Z"}
            if style in ("both", "token"):
                body["token"] = token
            if style in ("both", "access_token"):
                body["access_token"] = token
            self.reply(200, body)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--key", "--cert", "--issuer", "--service", "--users", "--log"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--port", type=int, required=True)
    cfg = ap.parse_args()
    with open(cfg.key, "rb") as f:
        cfg.key = serialization.load_pem_private_key(f.read(), password=None)
    with open(cfg.cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    cfg.cert_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    with open(cfg.users) as f:
        cfg.users = json.load(f)
    # loopback only: the tests' network rule
    ThreadingHTTPServer(("127.0.0.1", cfg.port), make_handler(cfg)).serve_forever()


if __name__ == "__main__":
    main()
