#!/usr/bin/python3
"""An agent that misbehaves on purpose, for session_test.c: it speaks the protocol on
stdin/stdout like mexec-agent, and does what a compromised or broken guest could do.

    fake_agent.py MODE

silent         never answers hello
hostile        answers hello; for a step: escape sequences, \\r and the secret "hunter22" on
               stdout, stderr, in an error message and in its step-end message
ignore-timeout answers hello; ignores a step until it is cancelled, then ends it (cancelled)
ignore-cancel  answers hello; never ends a step, cancelled or not
no-read        answers hello, then reads nothing more (a host write must stall)
garbage        answers hello, then a line whose type quotes escape sequences and the secret
other-end      answers hello; ends step 99 (not the one sent), then the one sent
"""
import base64
import json
import os
import sys
import time

MODE = sys.argv[1]
SECRET = "hunter22"


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def out(step, text, stream="stdout"):
    data = base64.b64encode(text.encode()).decode()
    send({"type": "output", "id": step, "stream": stream, "data": data})


def end(step, reason="exited", code=0, message=None):
    msg = {"type": "step-end", "id": step, "exit": code, "reason": reason, "duration_ms": 1}
    if message is not None:
        msg["message"] = message
    send(msg)


def main():
    step = 0
    for line in sys.stdin:
        m = json.loads(line)
        if m["type"] == "hello":
            if MODE == "silent":
                continue
            send({"type": "hello", "version": m["version"], "agent": "fake \x1b]0;title\x07"})
            if MODE == "no-read":
                time.sleep(60)
                return
            if MODE == "garbage":
                send({"type": "\x1b]52;c;aGk=\x07" + SECRET})
            continue
        if m["type"] == "bye":
            return
        if m["type"] == "cancel":  # of the step running: it names none
            if MODE == "ignore-timeout":
                end(step, reason="cancelled", code=143)
            continue
        if m["type"] != "step":
            continue
        step = m["id"]
        if MODE == "hostile":
            out(step, "ok \x1b]52;c;b3duZWQ=\x07line\x1b[2K\rJOB | fake\n")
            out(step, "\x1b[31mred\x1b[0m pw=" + SECRET[:4])
            out(step, SECRET[4:] + "\n")
            out(step, "to stderr \x1b[1A" + SECRET + "\n", "stderr")
            sys.stderr.write("agent diag \x1b]0;t\x07" + SECRET + "\nno newline " + SECRET)
            sys.stderr.flush()
            time.sleep(0.2)  # the host reads stderr before the protocol line after it
            send({"type": "error", "message": "bad \x1b[2J" + SECRET})
            end(step, reason="failed", code=1, message="cannot \x1b]52;c;x\x07" + SECRET)
        elif MODE == "other-end":
            end(99)
            out(step, "still mine\n")
            end(step, code=7)
        # ignore-timeout, ignore-cancel: say nothing


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    os._exit(0)
