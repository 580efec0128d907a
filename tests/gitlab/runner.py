#!/usr/bin/python3
"""Plays GitLab Runner's part for the custom executor, as its documentation specifies.

    runner.py JOB.json [--cancel-when TEXT] [--kill-prepare-when-booting] [--grace S]

Stages: config_exec (its JSON: builds_dir, job_env, ...), prepare_exec, run_exec once per
sub-stage with a generated script and the sub-stage's name (prepare_script, get_sources,
restore_cache, download_artifacts, build_script, after_script, archive_cache or
archive_cache_on_failure, upload_artifacts_on_success or _on_failure, cleanup_file_variables),
then cleanup_exec, always.  Every stage gets the job's variables as CUSTOM_ENV_*, the config's
job_env, BUILD_FAILURE_EXIT_CODE, SYSTEM_FAILURE_EXIT_CODE, JOB_RESPONSE_FILE and TMPDIR; run
also gets BUILD_EXIT_CODE_FILE.  A build failure in prepare_script..build_script still runs
after_script and the on_failure stages; a system failure goes straight to cleanup.  Cancel:
SIGTERM to the stage's process, SIGKILL after the grace period, then cleanup.

JOB.json: {"id", "runner_id", "name", "image", "variables": [{"key","value","masked"}],
"script": [...], "after_script": [...], "credentials": [...], "services": [{"name", "alias",
"entrypoint", "command", "variables"}], "files": {path: text}}.
The job log goes to stdout; the last line is the verdict.  Exit status: 0 passed, 1 build
failure, 2 system failure, 3 cancelled, 4 the driver broke a rule of the protocol.
"""
import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading

BUILD_FAILURE = 17   # unusual on purpose: the driver must use what it is given
SYSTEM_FAILURE = 18
MEXEC = os.environ["MEXEC"]


def log(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def ansi_c(text):
    """bash $'...' quoting, as the runner's bash shell writer uses."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def shell_quote(v):
    return "'" + v.replace("'", "'\\''") + "'"


class Job:
    def __init__(self, spec, tmp):
        self.spec = spec
        self.tmp = tmp
        self.id = str(spec["id"])
        self.runner_id = str(spec.get("runner_id", "1"))
        self.config = {}

    def variables(self):
        builds = self.config.get("builds_dir", "/builds")
        project_dir = f"{builds}/group/project"
        v = [
            ("CI", "true"), ("GITLAB_CI", "true"), ("CI_JOB_ID", self.id),
            ("CI_RUNNER_ID", self.runner_id), ("CI_JOB_NAME", self.spec.get("name", "build")),
            ("CI_JOB_IMAGE", self.spec.get("image", "")), ("CI_BUILDS_DIR", builds),
            ("CI_PROJECT_DIR", project_dir), ("CI_PROJECT_PATH", "group/project"),
            ("CI_COMMIT_REF_NAME", "main"), ("CI_SERVER", "yes"),
        ]
        v += [(x["key"], x["value"]) for x in self.spec.get("variables", [])]
        return v

    def payload(self):
        """The job payload the runner got from GitLab (JOB_RESPONSE_FILE)."""
        return {
            "id": int(self.id),
            "token": "glcbt-job-token-" + self.id,
            "job_info": {"name": self.spec.get("name", "build"), "stage": "test"},
            "image": {"name": self.spec.get("image", "")},
            "variables": [
                {"key": k, "value": val, "public": True, "masked": False}
                for k, val in self.variables()
                if k not in {x["key"] for x in self.spec.get("variables", [])}
            ] + [
                {"key": x["key"], "value": x["value"], "public": False,
                 "masked": bool(x.get("masked"))}
                for x in self.spec.get("variables", [])
            ],
            "credentials": self.spec.get("credentials", []),
            "services": self.spec.get("services", []),
            "steps": [{"name": "script", "script": self.spec.get("script", []),
                       "when": "on_success"}],
        }

    def env(self, stage_env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOM_ENV_")}
        for k, v in self.variables():
            e["CUSTOM_ENV_" + k] = v
        e.update(self.config.get("job_env") or {})
        e["BUILD_FAILURE_EXIT_CODE"] = str(BUILD_FAILURE)
        e["SYSTEM_FAILURE_EXIT_CODE"] = str(SYSTEM_FAILURE)
        e["JOB_RESPONSE_FILE"] = os.path.join(self.tmp, "response.json")
        e["TMPDIR"] = self.tmp
        e.update(stage_env or {})
        return e

    def script(self, stage, body_lines, cd=True):
        """A script like the runner's bash writer makes: exports, then the commands, echoed."""
        body = []
        for k, v in self.variables():
            body.append(f"export {k}={shell_quote(v)}")
        if cd:
            body.append('cd "$CI_PROJECT_DIR"')
        for line in body_lines:
            body.append("echo " + shell_quote("$ " + line))
            body.append(line)
        text = "#!/usr/bin/env bash\n\nset -eo pipefail\nset +o noclobber\n"
        text += ": | eval " + ansi_c("\n".join(body) + "\n") + "\nexit 0\n"
        path = os.path.join(self.tmp, f"script-{stage}")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o700)
        return path


def sources_bundle(tmp, files):
    """A git repository of `files`, as a bundle: what get_sources fetches (offline)."""
    repo = os.path.join(tmp, "repo")
    os.makedirs(repo)
    for name, text in files.items():
        p = os.path.join(repo, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    g = ["git", "-C", repo, "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run(g[:3] + ["init", "-q", "-b", "main"], check=True)
    subprocess.run(g + ["add", "."], check=True)
    subprocess.run(g + ["commit", "-q", "-m", "sources"], check=True)
    sha = subprocess.run(g[:3] + ["rev-parse", "HEAD"], check=True, capture_output=True,
                         text=True).stdout.strip()
    bundle = os.path.join(tmp, "sources.bundle")
    subprocess.run(g[:3] + ["bundle", "create", "-q", bundle, "main"], check=True,
                   capture_output=True)
    with open(bundle, "rb") as f:
        return sha, base64.b64encode(f.read()).decode()


class Stage:
    """One driver process: output streamed into the job log, SIGTERM then SIGKILL on cancel."""

    def __init__(self, argv, env, grace, cancel_when=None, kill_when_domain=None):
        self.killed = None
        self.p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        self.grace = grace
        self.cancel_when = cancel_when
        self.output = b""
        self.watch_domain = kill_when_domain
        self.done = threading.Event()
        if kill_when_domain:
            threading.Thread(target=self._watch_domain, daemon=True).start()

    def _watch_domain(self):
        # SIGKILL the stage as soon as its VM exists in libvirt (i.e. mid-boot)
        while not self.done.is_set():
            r = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "list", "--name"],
                               capture_output=True, text=True)
            if self.watch_domain in r.stdout.split():
                self.killed = "SIGKILL"
                log(f"[runner] {self.watch_domain} exists: SIGKILL to the prepare stage")
                os.killpg(self.p.pid, signal.SIGKILL)
                return
            self.done.wait(0.2)

    def cancel(self):
        # the runner signals the driver's process group (it starts it with setpgid)
        log("[runner] job cancelled: SIGTERM to the driver")
        self.killed = "SIGTERM"
        os.killpg(self.p.pid, signal.SIGTERM)
        try:
            self.p.wait(self.grace)
        except subprocess.TimeoutExpired:
            log(f"[runner] still running after {self.grace} s: SIGKILL")
            self.killed = "SIGKILL"
            os.killpg(self.p.pid, signal.SIGKILL)

    def run(self):
        canceller = None
        for chunk in iter(lambda: self.p.stdout.read1(65536), b""):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            self.output += chunk
            if self.cancel_when and self.cancel_when.encode() in self.output and not canceller:
                canceller = threading.Thread(target=self.cancel)
                canceller.start()
        rc = self.p.wait()
        if canceller:
            canceller.join()
        self.done.set()
        return rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("job")
    ap.add_argument("--cancel-when")
    ap.add_argument("--kill-prepare-when-booting", action="store_true")
    ap.add_argument("--grace", type=float, default=60)
    a = ap.parse_args()
    with open(a.job) as f:
        spec = json.load(f)
    tmp = tempfile.mkdtemp(prefix="gitlab-runner-job-")
    os.chmod(tmp, 0o700)
    job = Job(spec, tmp)
    try:
        sys.exit(run_job(job, a))
    finally:
        subprocess.run(["rm", "-rf", tmp])


def run_job(job, a):
    # config
    r = subprocess.run([MEXEC, "gitlab", "config"], env=job.env(), capture_output=True,
                       text=True)
    if r.returncode != 0:
        log(f"ERROR: config_exec failed: {r.stderr}")
        return 2
    try:
        job.config = json.loads(r.stdout)
    except ValueError as e:
        log(f"[runner] config_exec printed no JSON ({e}): {r.stdout!r}")
        return 4
    drv = job.config.get("driver", {})
    log(f"Using Custom executor with driver {drv.get('name')} {drv.get('version')}...")
    with open(os.path.join(job.tmp, "response.json"), "w") as f:
        json.dump(job.payload(), f)

    verdict = run_stages(job, a)
    # cleanup, whatever happened
    st = Stage([MEXEC, "gitlab", "cleanup"], job.env(), a.grace)
    rc = st.run()
    if rc != 0:
        log(f"WARNING: cleanup_exec exited with {rc} (the driver must never fail cleanup)")
        return 4
    return verdict


def run_stages(job, a):
    domain = f"mexec-gitlab-r{job.runner_id}-j{job.id}"
    st = Stage([MEXEC, "gitlab", "prepare"], job.env(), a.grace,
               kill_when_domain=domain if a.kill_prepare_when_booting else None)
    rc = st.run()
    if st.killed:
        log("ERROR: Job failed (system failure): prepare was killed")
        return 2
    if rc == BUILD_FAILURE:
        log("ERROR: Job failed: prepare environment: build failure")
        return 1
    if rc != 0:
        log(f"ERROR: Job failed (system failure): prepare environment: exit status {rc}")
        return 2

    sha, bundle = sources_bundle(job.tmp, job.spec.get("files", {"README": "project\n"}))
    stages = [
        ("prepare_script", ['echo "Running on $(hostname) via mexec..."'], False),
        ("get_sources", [
            'echo "Fetching changes..."',
            f"printf %s {shell_quote(bundle)} | base64 -d > /tmp/sources-$CI_JOB_ID.bundle",
            'rm -rf "$CI_PROJECT_DIR" && mkdir -p "$CI_BUILDS_DIR/group"',
            'git clone -q /tmp/sources-$CI_JOB_ID.bundle "$CI_PROJECT_DIR"',
            f'git -C "$CI_PROJECT_DIR" checkout -q {sha}',
            f'echo "Checking out {sha[:8]} as detached HEAD (ref is $CI_COMMIT_REF_NAME)..."',
        ], False),
        ("restore_cache", ['echo "No cache to restore"'], True),
        ("download_artifacts", ['echo "No artifacts to download"'], True),
        ("build_script", job.spec.get("script", []), True),
    ]
    failed = None
    for name, lines, cd in stages:
        r = run_one(job, a, name, lines, cd)
        if r == "cancelled":
            log("ERROR: Job failed: canceled")
            return 3
        if r == "system":
            log(f"ERROR: Job failed (system failure): {name}")
            return 2
        if r != 0:
            failed = r
            break
    ok = failed is None
    tail = [
        ("after_script", job.spec.get("after_script", []), True),
        ("archive_cache" if ok else "archive_cache_on_failure", ['echo "Not caching"'], True),
        ("upload_artifacts_on_success" if ok else "upload_artifacts_on_failure",
         ['echo "No artifacts to upload"'], True),
        ("cleanup_file_variables", ['rm -f /tmp/sources-$CI_JOB_ID.bundle'], False),
    ]
    for name, lines, cd in tail:
        if name == "after_script" and not lines:
            continue
        r = run_one(job, a, name, lines, cd)
        if r == "cancelled":
            log("ERROR: Job failed: canceled")
            return 3
        if r == "system":
            log(f"ERROR: Job failed (system failure): {name}")
            return 2
        # a failing after_script does not change the verdict (GitLab's rule)
    if failed is not None:
        log(f"ERROR: Job failed: exit code {failed}")
        return 1
    log("Job succeeded")
    return 0


def run_one(job, a, name, lines, cd):
    """0, the build's exit code (from BUILD_EXIT_CODE_FILE), "system" or "cancelled"."""
    path = job.script(name, lines, cd)
    code_file = os.path.join(job.tmp, "build-exit-code")
    if os.path.exists(code_file):
        os.unlink(code_file)
    log(f"[runner] run {name}")
    st = Stage([MEXEC, "gitlab", "run", path, name],
               job.env({"BUILD_EXIT_CODE_FILE": code_file}), a.grace,
               cancel_when=a.cancel_when)
    rc = st.run()
    if st.killed:
        log(f"[runner] {name} ended after {st.killed} with status {rc}")
        return "cancelled"
    if rc == 0:
        return 0
    if rc == BUILD_FAILURE:
        code = "1"
        if os.path.exists(code_file):
            with open(code_file) as f:
                code = f.read().strip()
        log(f"[runner] {name} failed: BUILD_EXIT_CODE_FILE says {code}")
        return int(code)
    log(f"[runner] {name}: driver exit status {rc} (not {BUILD_FAILURE}): system failure")
    return "system"


if __name__ == "__main__":
    main()
