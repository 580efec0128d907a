#!/usr/bin/python3
"""A fake ECR + STS endpoint on 127.0.0.1 that checks SigV4 signatures with botocore.

Usage: fake_aws.py CONFIG.json [--echo]
Prints the port it listens on (first line of stdout), then serves until killed.

  POST / with X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken
      The Authorization header is recomputed with botocore (clock frozen at the request's
      X-Amz-Date) over the headers the client says it signed; a mismatch is 403
      InvalidSignatureException, an unknown key 403 UnrecognizedClientException, as AWS does.
      Success: a canned token "AWS:<ecr_password>-<n>" valid `expires_in` seconds.
  POST / with Action=AssumeRoleWithWebIdentity (form body, unsigned, as AWS)
      Accepts the configured web-identity tokens for the configured role ARNs and issues
      temporary keys (which the ECR handler then accepts with their session token).
  GET /stats   {"ecr": successful token calls, "sts": successful role assumptions}
  --echo       every request is answered with its method, path, headers and body as JSON
               (for comparing the client's signature with published vectors).

CONFIG: {"account": "123456789012", "keys": {"AKID": "secret"}, "ecr_password": "p",
         "expires_in": 43200, "web_identity_tokens": ["t"], "role_arns": ["arn:..."],
         "ecr_password_fixed": false,   # true: every token is "AWS:<ecr_password>" (a real
                                        # registry on loopback checks it with htpasswd)
         "denied_keys": ["AKID"]}       # signed right, but not allowed: AccessDeniedException
Nothing here ever contacts another address.
"""
import base64
import http.server
import json
import os
import re
import secrets
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awssig  # noqa: E402

CONFIG = json.load(open(sys.argv[1]))
ECHO = "--echo" in sys.argv[2:]
TEMP = {}  # access key id -> (secret, session token)
STATS = {"ecr": 0, "sts": 0}
AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/x-amz-json-1.1"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def aws_error(self, status, code, message):
        self.reply(status, json.dumps({"__type": code, "message": message}))

    def sts_error(self, status, code, message):
        self.reply(status, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code>"
                   "<Message>%s</Message></Error></ErrorResponse>" % (code, message), "text/xml")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.body()
        if ECHO:
            return self.echo(b"")
        if self.path == "/stats":
            return self.reply(200, json.dumps(STATS), "application/json")
        self.reply(404, "{}")

    def echo(self, body):
        self.reply(200, json.dumps({"method": self.command, "path": self.path,
                                    "headers": [[k, v] for k, v in self.headers.items()],
                                    "body": body.decode()}), "application/json")

    def do_POST(self):
        body = self.body()
        if ECHO:
            return self.echo(body)
        target = self.headers.get("X-Amz-Target")
        if target == "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken":
            return self.ecr(body)
        form = urllib.parse.parse_qs(body.decode(errors="replace"))
        if form.get("Action") == ["AssumeRoleWithWebIdentity"]:
            return self.sts(form)
        self.aws_error(400, "UnknownOperationException", "unknown operation")

    def ecr(self, body):
        auth = self.headers.get("Authorization")
        m = AUTH_RE.match(auth or "")
        if not m:
            return self.aws_error(403, "MissingAuthenticationTokenException",
                                  "Missing Authentication Token")
        akid, day, region, service, signed, _ = m.groups()
        token = None
        if akid in CONFIG["keys"]:
            secret = CONFIG["keys"][akid]
        elif akid in TEMP:
            secret, token = TEMP[akid]
            if self.headers.get("X-Amz-Security-Token") != token or \
                    "x-amz-security-token" not in signed.split(";"):
                return self.aws_error(403, "UnrecognizedClientException",
                                      "The security token included in the request is invalid.")
        else:
            return self.aws_error(403, "UnrecognizedClientException",
                                  "The security token included in the request is invalid.")
        amz_date = (self.headers.get_all("X-Amz-Date") or [""])[0]
        if service != "ecr" or not amz_date.startswith(day):
            return self.aws_error(403, "InvalidSignatureException", "Credential should be scoped "
                                  "to a valid region and service")
        headers = [(n, (self.headers.get_all(n) or [""])[0]) for n in signed.split(";")]
        url = "http://%s%s" % (self.headers["Host"], self.path)
        want = awssig.authorization("POST", url, headers, body, akid, secret, region, service,
                                    amz_date, token)
        if want != auth:
            return self.aws_error(403, "InvalidSignatureException",
                                  "The request signature we calculated does not match the "
                                  "signature you provided.")
        if akid in CONFIG.get("denied_keys", []):
            return self.aws_error(400, "AccessDeniedException",
                                  "User: arn:aws:iam::%s:user/ci is not authorized to perform: "
                                  "ecr:GetAuthorizationToken on resource: * because no "
                                  "identity-based policy allows the ecr:GetAuthorizationToken "
                                  "action" % CONFIG["account"])
        STATS["ecr"] += 1
        password = CONFIG["ecr_password"] if CONFIG.get("ecr_password_fixed") else \
            "%s-%d" % (CONFIG["ecr_password"], STATS["ecr"])
        self.reply(200, json.dumps({"authorizationData": [{
            "authorizationToken": base64.b64encode(("AWS:" + password).encode()).decode(),
            "expiresAt": time.time() + CONFIG.get("expires_in", 43200),
            "proxyEndpoint": "https://%s.dkr.ecr.%s.amazonaws.com" % (CONFIG["account"], region),
        }]}))

    def sts(self, form):
        tok = (form.get("WebIdentityToken") or [""])[0]
        role = (form.get("RoleArn") or [""])[0]
        if tok not in CONFIG.get("web_identity_tokens", []):
            return self.sts_error(400, "InvalidIdentityToken",
                                  "Couldn&apos;t retrieve verification key from your identity "
                                  "provider")
        if role not in CONFIG.get("role_arns", []):
            return self.sts_error(403, "AccessDenied", "Not authorized to perform "
                                  "sts:AssumeRoleWithWebIdentity")
        akid = "ASIA" + secrets.token_hex(8).upper()
        secret, token = secrets.token_urlsafe(30), secrets.token_urlsafe(60)
        TEMP[akid] = (secret, token)
        STATS["sts"] += 1
        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        self.reply(200, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                   "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s"
                   "</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s"
                   "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                   "</AssumeRoleWithWebIdentityResponse>" % (akid, secret, token, exp),
                   "text/xml")


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
