#!/usr/bin/python3
"""check-packages.py [-v] [ROOT] — every host tool the repository runs comes from a package that
scripts/setup-host.sh installs.

Why: README command 2 once failed on a fresh machine because a test read /bin/busybox, whose
package no script installed; CI had passed on a machine where someone had installed it by hand.
This check makes such a miss fail the suite on the machine where it was made.

It derives, without running anything:
  - commands at command position in shell scripts (scripts/, tests/, bench/, images/, .ci/),
    skipping heredoc bodies (data for guests), comments and shell functions;
  - the program of subprocess calls in Python files (first element of the argv list);
  - the program of `argv[] = {"prog", ...}` arrays in the C sources (tools mexec runs);
  - absolute paths of host files named in string literals (e.g. "/bin/busybox").
Each one found on this machine is mapped to its Debian package (dpkg -S). The package must be
Essential or Priority required (on every Debian system), or in the dependency closure of
setup-host.sh's PACKAGES. Words that are no command here are only listed with -v (the test
that needs one fails on its own).  Exit status 1 when a tool comes from a package nothing installs.
"""
import ast
import os
import re
import shlex
import shutil
import subprocess
import sys

SCAN_DIRS = ["scripts", "tests", "bench", "images", ".ci"]
C_DIRS = ["provisioner", "libmx", "guest-agent"]
# Words after which the next word is a command, and wrappers whose argument is a command.
SEPARATORS = {"|", "||", "&&", ";", "(", ")", "{", "!", "then", "do", "else", "elif", "if",
              "while", "until", "time", "&", "|&", ";;"}
WRAPPERS = {"exec", "nice", "timeout", "env", "command", "xargs", "nohup", "setsid", "stdbuf",
            "ionice", "builtin"}
# Run only where their package is there by construction.
EXEMPT = {"systemctl": "setup-host.sh calls it only where systemd is PID 1"}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.+-]*$")
ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
FUNC = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)")
ABS_PATH = re.compile(r"[\"'](/(?:usr/)?(?:s?bin|lib|libexec|share)/[A-Za-z0-9._+/-]+)")
C_ARGV = re.compile(r"argv\[\]\s*=\s*\{\s*\"([^\"]+)\"")


def shell_builtins():
    out = subprocess.run(["bash", "-c", "compgen -b; compgen -k"], capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


def logical_lines(text):
    """Yields (lineno, line) with heredoc bodies dropped and continuations joined."""
    lines = text.split("\n")
    i, pending, start = 0, "", 0
    while i < len(lines):
        line = lines[i]
        if not pending:
            start = i + 1
        if line.endswith("\\") and not line.lstrip().startswith("#"):
            pending += line[:-1] + " "
            i += 1
            continue
        full = pending + line
        pending = ""
        yield start, full
        for m in HEREDOC.finditer(full):
            strip_tabs, word = m.group(1) == "-", m.group(3)
            i += 1
            while i < len(lines):
                body = lines[i].lstrip("\t") if strip_tabs else lines[i]
                if body == word:
                    break
                i += 1
        i += 1


def substitutions(token):
    """The insides of $(...) in a token (quoted command substitutions are commands too)."""
    out, i = [], 0
    while True:
        i = token.find("$(", i)
        if i < 0 or token.startswith("$((", i):
            return out
        depth, j = 1, i + 2
        while j < len(token) and depth:
            depth += {"(": 1, ")": -1}.get(token[j], 0)
            j += 1
        out.append(token[i + 2:j - 1])
        i = j


def commands_in(line):
    """Words at command position in one logical line of shell."""
    try:
        lex = shlex.shlex(line, posix=False, punctuation_chars=";&|()")
        lex.commenters = "#"
        lex.whitespace_split = True
        tokens = list(lex)
    except ValueError:
        return []
    found, at_cmd, wrapper = [], True, None
    if re.match(r"^\s*\(\(", line) or re.match(r"^\s*for\s*\(\(", line):
        return found  # arithmetic: no commands
    for tok in tokens:
        for inner in substitutions(tok):
            found += commands_in(inner)
        if tok in SEPARATORS or tok.startswith("$("):
            at_cmd, wrapper = True, None
            continue
        if not at_cmd:
            continue
        if ASSIGN.match(tok) or (wrapper and (tok.startswith("-") or tok[0].isdigit())):
            continue
        if wrapper in ("nice", "timeout") and tok[0].isdigit():
            continue
        word = tok.strip("'\"")
        if word in WRAPPERS:
            found.append(word)
            wrapper = word
            continue
        found.append(word)
        at_cmd, wrapper = False, None
    return found


def scan_shell(path, functions):
    uses = []
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    in_array = False
    for lineno, line in logical_lines(text):
        # NAME=( on its own line starts a list of words (packages, units), not commands
        if in_array:
            in_array = ")" not in line.split("#", 1)[0]
            continue
        if re.match(r"^\s*(local\s+|declare\s+\S+\s+|readonly\s+)?[A-Za-z_][A-Za-z0-9_]*=\(", line):
            in_array = ")" not in line.split("#", 1)[0]
            continue
        m = FUNC.match(line)
        if m:
            functions.add(m.group(1))
        for word in commands_in(line):
            uses.append((word, lineno))
    return uses


def python_argv0(tree):
    lists = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    lists[t.id] = node.value

    def first(expr):
        if isinstance(expr, ast.List) and expr.elts:
            e = expr.elts[0]
            return e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else None
        if isinstance(expr, ast.BinOp):
            return first(expr.left)
        if isinstance(expr, ast.Subscript):
            return first(expr.value)
        if isinstance(expr, ast.Name) and expr.id in lists:
            return first(lists[expr.id])
        return None

    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"
                and node.args):
            name = first(node.args[0])
            if name:
                yield name, node.lineno


def scan_python(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    try:
        return list(python_argv0(ast.parse(src)))
    except SyntaxError:
        return []


def files(root, dirs, exts):
    for d in dirs:
        top = os.path.join(root, d)
        if os.path.isfile(top):
            yield top
            continue
        for base, subdirs, names in os.walk(top):
            subdirs[:] = [s for s in subdirs if s not in ("corpus", "fixtures")]
            for n in sorted(names):
                if n.endswith(exts):
                    yield os.path.join(base, n)


def setup_packages(root):
    """The PACKAGES array of scripts/setup-host.sh."""
    text = open(os.path.join(root, "scripts/setup-host.sh"), encoding="utf-8").read()
    m = re.search(r"^PACKAGES=\((.*?)^\)", text, re.S | re.M)
    if not m:
        sys.exit("check-packages: no PACKAGES=( ... ) in scripts/setup-host.sh")
    words = []
    for line in m.group(1).split("\n"):
        words += line.split("#", 1)[0].split()
    return words


def closure(packages):
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                          "--installed"] + packages,
                         capture_output=True, text=True, check=False).stdout
    names = set(packages)
    for line in out.split("\n"):
        if line and not line[0].isspace() and not line.startswith("<"):
            names.add(line.strip().split(":")[0])
    return names


def base_packages():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Essential}\t${Priority}\n"],
                         capture_output=True, text=True, check=True).stdout
    base = set()
    for line in out.split("\n"):
        parts = line.split("\t")
        if len(parts) == 3 and (parts[1] == "yes" or parts[2] == "required"):
            base.add(parts[0])
    return base


def spellings(path):
    """path as dpkg may have recorded it: as given, resolved, with and without /usr."""
    out = []
    for p in (path, os.path.realpath(path)):
        out += [p, p[4:] if p.startswith("/usr/") else "/usr" + p]
    return list(dict.fromkeys(out))


def owners(paths):
    """{path: [packages]} for every spelling dpkg knows, in one dpkg -S call."""
    todo = sorted({s for p in paths for s in spellings(p)})
    if not todo:
        return {}
    r = subprocess.run(["dpkg", "-S"] + todo, capture_output=True, text=True, check=False)
    found = {}
    for line in r.stdout.split("\n"):
        if ": " not in line or line.startswith("diversion"):
            continue
        pkgs, path = line.split(": ", 1)
        found.setdefault(path, set()).update(x.strip().split(":")[0] for x in pkgs.split(","))
    return found


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    builtins, functions, uses = shell_builtins(), set(), []
    for path in files(root, SCAN_DIRS, (".sh", "/run")):
        rel = os.path.relpath(path, root)
        uses += [(w, rel, n) for w, n in scan_shell(path, functions)]
    for path in files(root, SCAN_DIRS, (".py",)):
        rel = os.path.relpath(path, root)
        uses += [(w, rel, n) for w, n in scan_python(path)]
    paths = []
    for path in files(root, SCAN_DIRS + C_DIRS, (".sh", ".py", ".c", ".h", "/run")):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                uses += [(m.group(1), rel, n) for m in C_ARGV.finditer(line)]
                paths += [(m.group(1), rel, n) for m in ABS_PATH.finditer(line)]

    allowed = closure(setup_packages(root)) | base_packages()
    wanted, missing = [], {}
    for word, rel, n in uses:
        if word in builtins or word in functions or word in EXEMPT or not NAME.match(word):
            continue
        exe = shutil.which(word)
        if exe is None:
            missing.setdefault(word, f"{rel}:{n}")
        else:
            wanted.append((word, exe, rel, n))
    wanted += [(p, p, rel, n) for p, rel, n in paths if os.path.isfile(p)]
    known = owners([exe for _, exe, _, _ in wanted])
    problems, seen = {}, set()
    for what, exe, rel, n in wanted:
        pkgs = set()
        for sp in spellings(exe):
            pkgs |= known.get(sp, set())
        if not pkgs or exe in seen:
            continue
        seen.add(exe)
        if not allowed & pkgs:
            problems.setdefault((what, ", ".join(sorted(pkgs))), f"{rel}:{n}")

    if "-v" in sys.argv[1:]:
        for word, where in sorted(missing.items()):
            print(f"check-packages: note: {word} (at {where}) is not a command here")
    for (what, pkgs), where in sorted(problems.items()):
        print(f"check-packages: {what} (used at {where}) comes from {pkgs}, which "
              f"scripts/setup-host.sh does not install: add it to PACKAGES")
    if problems:
        return 1
    print(f"check-packages: {len(seen)} host tools and files, all from packages setup-host.sh "
          f"installs or every Debian system has")
    return 0


if __name__ == "__main__":
    sys.exit(main())
