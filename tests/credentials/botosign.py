#!/usr/bin/python3
"""Prints botocore's Authorization header for one request described as JSON on stdin (or in
the file named by the only argument, so a C test can pass it without a shell).

Input keys: method, url, headers ([[name, value], ...]), body, access_key, secret_key,
session_token (optional), region, service, amz_date.  The secret arrives on stdin, never argv.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awssig  # noqa: E402

req = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
print(awssig.authorization(req["method"], req["url"], req.get("headers", []),
                           req.get("body", "").encode(), req["access_key"], req["secret_key"],
                           req["region"], req["service"], req["amz_date"],
                           req.get("session_token")))
