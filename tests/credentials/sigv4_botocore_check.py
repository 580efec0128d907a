#!/usr/bin/python3
"""Checks that botocore reproduces every published signature in sigv4_vectors.json.

Why: the C tests take botocore as the reference for requests AWS publishes no vector for (the
ECR call); this shows the reference itself agrees with AWS's suite.  Exit status 0 = all match.
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import awssig  # noqa: E402

with open(os.path.join(here, "sigv4_vectors.json")) as f:
    suite = json.load(f)
failed = 0
for v in suite["vectors"]:
    url = "https://%s%s" % (suite["host"], v["path"])
    got = awssig.authorization(v["method"], url, v["headers"], v["body"].encode(),
                               suite["access_key"], suite["secret_key"], suite["region"],
                               suite["service"], suite["amz_date"])
    want = ("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
            "Signature=%s" % (suite["access_key"], suite["amz_date"][:8], suite["region"],
                              suite["service"], v["signed_headers"], v["signature"]))
    ok = got == want
    failed += not ok
    print("%s %s" % ("ok  " if ok else "FAIL", v["name"]) + ("" if ok else "\n  got  " + got))
sys.exit(1 if failed else 0)
