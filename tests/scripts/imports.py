#!/usr/bin/env python3
"""The import check of `make lint` (docs/design.md, "Source layout").

Reads every file under src/ and the module paths it names (`use` trees, and paths in the code
that start at `crate::`, `super::`, `self::` or a child module), resolved to the module that
defines them: a module is a file, a folder's mod.rs is the folder, a file's inline `mod tests`
is a module of its own (so the test helpers in a folder's mod.rs make no circle with the tests
of its files), and a name that a module re-exports (`pub(crate) use child::Name`) counts as the
module it comes from. Comments and string literals are skipped. Then it fails, naming both modules, when

- a module of one subcommand folder imports one of another subcommand folder;
- a module of the shared layer imports a subcommand folder, `cli` or `main`;
- a top-level module is in neither list below (place it deliberately);
- modules import each other in a circle (the circle is printed, one import per step with the
  line it is on).

Python 3 of the machine, standard library only; `python3 tests/scripts/imports.py [SRC_DIR]`.
"""

import os
import re
import sys

# One folder per subcommand family: none of them imports another.
FAMILIES = {"start", "probe", "reconfig"}
# What several subcommands use, below them: it imports no family, nor `cli` or `main`.
SHARED = {"exit", "log", "parse", "sys", "net", "quote", "output", "fs", "secrets", "shape", "zk", "pid1", "flag", "reach"}
# Above everything: the crate root (main.rs, written "crate" here) and the command line.
TOP = {"crate", "cli"}

TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<line_comment>//[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<raw_string>b?r(?P<hashes>\#*)")
    | (?P<string>b?"(?:\\.|[^"\\])*")
    | (?P<char>b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^'\\])')
    | (?P<lifetime>'[A-Za-z_][A-Za-z0-9_]*)
    | (?P<ident>r\#[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>[0-9][0-9A-Za-z_.]*)
    | (?P<path_sep>::)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(text):
    """(kind, text, line) for the code, without comments, strings, chars and lifetimes."""
    pos, line = 0, 1
    while pos < len(text):
        m = TOKEN.match(text, pos)
        kind = m.lastgroup if m.lastgroup != "hashes" else "raw_string"
        end = m.end()
        if m.group("block_comment"):
            depth, end = 1, m.end()
            while depth and end < len(text):
                if text.startswith("/*", end):
                    depth, end = depth + 1, end + 2
                elif text.startswith("*/", end):
                    depth, end = depth - 1, end + 2
                else:
                    end += 1
            kind = "block_comment"
        elif m.group("raw_string") is not None:
            close = '"' + m.group("hashes")
            found = text.find(close, m.end())
            end = len(text) if found < 0 else found + len(close)
            kind = "raw_string"
        if kind in ("ident", "path_sep", "punct"):
            yield kind, m.group(0), line
        line += text.count("\n", pos, end)
        pos = end


class Module:
    def __init__(self, path, file):
        self.path = path  # ("start", "files"); () for the crate root
        self.file = file
        self.children = set()  # modules declared with `mod NAME;`
        self.uses = []  # (absolute path, line) from use trees
        self.reexports = {}  # name -> absolute path, from `pub use`
        self.refs = []  # (absolute path, line) from paths in the code

    @property
    def name(self):
        return "::".join(self.path) or "crate"


def module_path(rel):
    parts = rel[:-3].split("/")
    if parts[-1] in ("mod", "main"):
        parts.pop()
    return tuple(parts)


def absolute(segments, here, children):
    """`segments` of a path written in module `here` as a path from the crate root, or None
    for a path into another crate."""
    head, rest = segments[0], list(segments[1:])
    if head == "crate":
        return rest
    if head in ("self", "super"):
        base = list(here)
        while segments and segments[0] in ("self", "super"):
            if segments[0] == "super":
                base.pop()
            segments = segments[1:]
        return base + list(segments)
    if head in children:
        return list(here) + list(segments)
    return None


def parse_use(toks, i):
    """The use tree starting at toks[i] (after `use`): [(segments, name)] and the index after
    the `;`. A glob's name is "*"."""
    out = []

    def tree(i, prefix):
        segs = list(prefix)
        if toks[i][1] == "::":
            i += 1
        while True:
            kind, text, _ = toks[i]
            if text == "{":
                i += 1
                while toks[i][1] != "}":
                    i = tree(i, segs)
                    if toks[i][1] == ",":
                        i += 1
                return i + 1
            if text == "*":
                out.append((segs, "*"))
                return i + 1
            if kind != "ident":
                raise SyntaxError(f"unexpected '{text}' in a use tree, line {toks[i][2]}")
            # `{self, ...}` names the prefix itself.
            if not (text == "self" and prefix and segs == list(prefix)):
                segs = segs + [text]
            i += 1
            if toks[i][1] == "::":
                i += 1
                continue
            name = segs[-1]
            if toks[i][1] == "as":
                name = toks[i + 1][1]
                i += 2
            out.append((segs, name))
            return i

    i = tree(i, [])
    if toks[i][1] != ";":
        raise SyntaxError(f"a use tree not ended by ';', line {toks[i][2]}")
    return out, i + 1


def scan(module, text, modules):
    """Record what `module`'s file names; an inline `mod NAME { ... }` (a file's tests) is a
    module of its own, registered in `modules`."""
    toks = list(tokens(text))
    toks.append(("punct", ";", 0))
    inline = []  # (name, brace depth inside it) of inline `mod NAME { ... }`
    depth = 0
    # The declared children first: a path may name one before its `mod` line.
    for j in range(len(toks) - 2):
        if toks[j][1] == "mod" and toks[j + 1][0] == "ident" and toks[j + 2][1] == ";":
            module.children.add(toks[j + 1][1])
    i = 0
    while i < len(toks):
        kind, text, line = toks[i]
        here = module.path + tuple(name for name, _ in inline)
        current = modules[here]
        children = current.children
        if text == "{":
            depth += 1
        elif text == "}":
            depth -= 1
            if inline and inline[-1][1] > depth:
                inline.pop()
        elif text == "mod" and toks[i + 1][0] == "ident" and toks[i + 2][1] == "{":
            inline.append((toks[i + 1][1], depth + 1))
            inner = here + (toks[i + 1][1],)
            modules.setdefault(inner, Module(inner, module.file))
            depth += 1
            i += 3
            continue
        elif text == "use" and kind == "ident":
            public = i > 0 and (toks[i - 1][1] == "pub" or toks[i - 1][1] == ")")
            items, i = parse_use(toks, i + 1)
            for segs, name in items:
                path = absolute(segs, here, children)
                if path is None:
                    continue
                current.uses.append((path, line))
                if public and name != "*":
                    current.reexports[name] = path
            continue
        elif kind == "ident" and toks[i + 1][1] == "::" and (i == 0 or toks[i - 1][1] != "::"):
            if text in ("crate", "self", "super") or text in children:
                segs = [text]
                j = i + 1
                while toks[j][1] == "::" and toks[j + 1][0] == "ident":
                    segs.append(toks[j + 1][1])
                    j += 2
                if toks[j][1] == "(":
                    # A call: the last name is a function, which may share a child module's name
                    # (`reconfig::join(...)` is mod.rs's function, not reconfig/join.rs).
                    segs.pop()
                path = absolute(segs, here, children)
                if path is not None:
                    current.refs.append((path, line))
                i = j
                continue
        i += 1


def resolve(path, modules, seen=0):
    """The module that defines what `path` (from the crate root) names."""
    best = ()
    for n in range(len(path) + 1):
        if tuple(path[:n]) in modules:
            best = tuple(path[:n])
    rest = path[len(best):]
    owner = modules[best]
    if rest and rest[0] in owner.reexports and seen < 16:
        return resolve(list(owner.reexports[rest[0]]) + list(rest[1:]), modules, seen + 1)
    return best


def layer(path):
    top = path[0] if path else "crate"
    if top in FAMILIES:
        return "family"
    if top in SHARED:
        return "shared"
    if top in TOP:
        return "top"
    return None


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
            elif nxt not in index:
                index[nxt] = low[nxt] = counter[0]
                counter[0] += 1
                stack.append(nxt)
                on.add(nxt)
                work.append((nxt, iter(sorted(edges.get(nxt, ())))))
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
    return out


def circle(comp, edges):
    """One circle through the component's first module, by a breadth-first search."""
    start, members = comp[0], set(comp)
    came = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges[node]):
            if nxt == start:
                path = [node]
                while came[path[-1]] is not None:
                    path.append(came[path[-1]])
                return list(reversed(path)) + [start]
            if nxt in members and nxt not in came:
                came[nxt] = node
                queue.append(nxt)
    return comp


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    modules = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, src).replace(os.sep, "/")
                m = Module(module_path(rel), os.path.join(src, rel))
                modules[m.path] = m
    if () not in modules:
        print(f"imports: no {src}/main.rs", file=sys.stderr)
        return 2
    for m in list(modules.values()):
        with open(m.file, encoding="utf-8") as f:
            try:
                scan(m, f.read(), modules)
            except SyntaxError as e:
                print(f"imports: {m.file}: cannot read: {e}", file=sys.stderr)
                return 2

    edges = {p: {} for p in modules}  # from -> {to: first line}
    for m in modules.values():
        for path, line in m.uses + m.refs:
            to = resolve(path, modules)
            if to != m.path and to not in edges[m.path]:
                edges[m.path][to] = line

    problems = []
    for p in sorted(modules):
        if layer(p) is None:
            problems.append(
                f"{modules[p].file}: top-level module '{p[0]}' is neither shared nor a subcommand folder; "
                f"add it to SHARED or FAMILIES in {sys.argv[0]} and to docs/design.md, \"Source layout\""
            )
    for p, outs in sorted(edges.items()):
        for to, line in sorted(outs.items()):
            a, b = modules[p], modules[to]
            what = None
            if layer(p) == "family" and layer(to) == "family" and p[0] != to[0]:
                what = f"subcommand folder {p[0]}/ reaches into subcommand folder {to[0]}/"
            elif layer(p) == "shared" and layer(to) in ("family", "top"):
                what = "the shared layer reaches up into " + (f"{to[0]}/" if layer(to) == "family" else b.name)
            if what:
                problems.append(f"{a.file}:{line}: {a.name} imports {b.name} ({b.file}): {what}")
    for comp in cycles({p: set(o) for p, o in edges.items()}):
        steps = circle(comp, edges)
        shown = ", ".join(
            f"{modules[x].name} -> {modules[y].name} ({modules[x].file}:{edges[x][y]})" for x, y in zip(steps, steps[1:])
        )
        rest = "" if len(comp) == len(steps) - 1 else f" (one of the circles among {', '.join(modules[x].name for x in comp)})"
        problems.append(f"a circle of imports: {shown}{rest}")

    for line in problems:
        print(f"imports: {line}", file=sys.stderr)
    if problems:
        return 1
    count = sum(len(o) for o in edges.values())
    files = len({m.file for m in modules.values()})
    print(f"imports: {files} files, {count} imports between their modules: no folder reaches into another, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
