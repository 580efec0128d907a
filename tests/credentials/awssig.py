"""SigV4 as botocore computes it, with botocore's clock frozen at a given X-Amz-Date.

Why: botocore (Debian python3-botocore) is the reference implementation AWS's own CLI uses and
reproduces AWS's published SigV4 test suite; the C client (libcurl's CURLOPT_AWS_SIGV4) is
checked against it, and the fake ECR endpoint uses it to verify signatures.
"""
import datetime as _dt

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def _frozen_datetime_module(amz_date):
    when = _dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")

    class Frozen(_dt.datetime):
        @classmethod
        def utcnow(cls):
            return when

        @classmethod
        def now(cls, tz=None):
            return when.replace(tzinfo=tz) if tz else when

    class Module:
        datetime = Frozen
        timezone = _dt.timezone
        timedelta = _dt.timedelta

    return Module


def authorization(method, url, headers, body, access_key, secret_key, region, service,
                  amz_date, session_token=None):
    """Returns the Authorization header botocore sends for this request at amz_date.

    headers: list of (name, value) pairs to sign (botocore signs every header it is given
    except expect, user-agent and x-amzn-trace-id).
    """
    req = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        if name.lower() in ("x-amz-date", "authorization") or \
                (session_token and name.lower() == "x-amz-security-token"):
            continue  # botocore sets these itself
        if name in req.headers:
            # AWS's suite has repeated header names: they are joined with ","
            req.headers.replace_header(name, req.headers[name] + "," + value) \
                if hasattr(req.headers, "replace_header") else None
            continue
        req.headers[name] = value
    creds = Credentials(access_key, secret_key, session_token)
    saved = botocore.auth.datetime
    botocore.auth.datetime = _frozen_datetime_module(amz_date)
    try:
        botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    finally:
        botocore.auth.datetime = saved
    return req.headers["Authorization"]
