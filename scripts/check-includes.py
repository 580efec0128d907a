#!/usr/bin/env python3
"""check-includes.py [ROOT]: fails on a cycle in the graph of `#include "..."` between the
project's source units and between its folders, and prints every cycle it finds.

A unit is a .c file and its .h taken together (a.c, a.h and a's internal header a_int.h are
one unit "dir/a"): unit A
depends on unit B when a.c or a.h includes b.h.  A folder depends on another when one of its
units depends on one of the other's.  Only quoted includes that resolve to a file of the tree
count (system headers are <...>); a header is found next to the includer first, then in the
folders that hold headers (the build's include directories are the source folders).

The folders checked are the product's: libmx, guest-agent, provisioner (tests/ and bench/
include from all of them and are leaves).  Cycles are found with Tarjan's strongly connected
components, so each knot is printed once with the edges that close it.
"""
import os
import re
import sys

FOLDERS = ("libmx", "guest-agent", "provisioner")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def unit_of(path):
    """dir/a.c, dir/a.h and a's internal header dir/a_int.h are unit dir/a."""
    stem = path[:-2]
    return stem[:-4] if stem.endswith("_int") and path.endswith(".h") else stem


def units(root):
    """Maps unit name ("folder/stem") to the files that make it up."""
    out = {}
    for top in FOLDERS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(dirpath, f), root)
                    out.setdefault(unit_of(rel), []).append(rel)
    return out


def resolve(root, includer, name, headers):
    local = os.path.normpath(os.path.join(os.path.dirname(includer), name))
    if os.path.isfile(os.path.join(root, local)):
        return local
    hits = headers.get(os.path.basename(name), [])
    return hits[0] if len(hits) == 1 else None


def graph(root):
    us = units(root)
    headers = {}
    for files in us.values():
        for f in files:
            if f.endswith(".h"):
                headers.setdefault(os.path.basename(f), []).append(f)
    edges = {u: {} for u in us}  # unit -> {unit: "file includes header"}
    for u, files in us.items():
        for f in sorted(files):
            with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for name in INCLUDE.findall(text):
                target = resolve(root, f, name, headers)
                if target is None:
                    continue
                v = unit_of(target)
                if v != u and v in edges:
                    edges[u].setdefault(v, f"{f} includes {target}")
    return edges


def cycles(edges):
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def report(kind, edges):
    bad = cycles(edges)
    for comp in bad:
        members = set(comp)
        print(f"check-includes: {kind} cycle: {' <-> '.join(comp)}")
        for u in comp:
            for v, why in sorted(edges[u].items()):
                if v in members:
                    print(f"    {u} -> {v}  ({why})")
    return len(bad)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    root = os.path.abspath(root)
    edges = graph(root)
    folder_edges = {}
    for u, deps in edges.items():
        fu = os.path.dirname(u)
        folder_edges.setdefault(fu, {})
        for v, why in deps.items():
            fv = os.path.dirname(v)
            folder_edges.setdefault(fv, {})
            if fu != fv:
                folder_edges[fu].setdefault(fv, why)
    n = report("file", edges) + report("folder", folder_edges)
    if n:
        print("check-includes: break each cycle by moving what both sides need into its own "
              "unit that includes neither")
        return 1
    print(f"check-includes: {len(edges)} units in {len(folder_edges)} folders, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
