#!/usr/bin/env python3
"""Find import cycles between the files of a Rust crate.

Usage: hack/import-cycles.py [-v] SRC_DIR [SRC_DIR ...]

Builds a graph with one node per .rs file reachable through `mod` declarations from the crate
roots in SRC_DIR (lib.rs, main.rs, bin/*.rs; `mod.rs` and `a.rs` + `a/` layouts; `#[path]`),
and an edge a.rs -> b.rs when a.rs uses anything from b.rs:

- `use` declarations, grouped or not (`use crate::{a, b::c}`), starting with `crate::`,
  `super::`, `self::` or the name of a module declared in the using module;
- paths in code (`crate::a::f()`, `super::x::T`, `child::f()`): a parent (`mod.rs`, `lib.rs`)
  using its child's items counts, the `mod child;` declaration alone does not;
- a path resolves to the deepest module of it that is a file (`crate::a::b::C` is b.rs if
  a/b.rs exists, else a.rs); items of inline modules (`mod tests { ... }`) belong to their file.

Comments, strings and char literals are ignored. Exits 1 and prints every cycle (one per
strongly connected component, as a path a -> b -> ... -> a) when there is one, else 0.
-v prints the edges as well. Python 3, standard library only.
"""
import os
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
KEYWORDS = {"crate", "super", "self", "Self"}


RAW_STR_RE = re.compile(r'b?r(#*)"')
CHAR_RE = re.compile(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'")


def blank(segment):
    """The segment with everything but newlines turned into spaces (offsets kept)."""
    return re.sub(r"[^\n]", " ", segment)


def strip_code(text):
    """The source with comments, string and char literals blanked (offsets and lines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
            continue
        if text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
            continue
        word_before = i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
        m = RAW_STR_RE.match(text, i) if c in "br" else None
        if m and not word_before:
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append(blank(text[i:j]))
            i = j
            continue
        if c == '"' or (c == "b" and text.startswith('b"', i) and not word_before):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(blank(text[i:j]))
            i = j
            continue
        if c == "'":
            m = CHAR_RE.match(text, i)
            if m:
                out.append(blank(m.group(0)))
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def split_top(s, sep=","):
    """Split at `sep` outside braces."""
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def expand_use(tree, prefix=()):
    """The paths a use tree names, as tuples of segments (`self` and globs end a path)."""
    tree = re.sub(r"\s+as\s+" + IDENT, "", tree)  # aliases
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"^::", "", tree)
    out = []
    for part in split_top(tree):
        if "{" in part:
            head, _, rest = part.partition("{")
            inner = rest[: rest.rfind("}")]
            head_segs = tuple(s for s in head.split("::") if s)
            out.extend(expand_use(inner, prefix + head_segs))
            continue
        segs = tuple(s for s in part.split("::") if s)
        if segs and segs[-1] == "*":
            segs = segs[:-1]
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        out.append(prefix + segs)
    return out


USE_RE = re.compile(r"\buse\s+([^;]*);")
PATH_RE = re.compile(r"(?<![A-Za-z0-9_:])((?:" + IDENT + r")(?:\s*::\s*(?:" + IDENT + r"|\{))+)")
MOD_DECL_RE = re.compile(
    r'((?:#\[[^\]]*\]\s*)*)(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+(' + IDENT + r')\s*(;|\{)')


class Crate:
    def __init__(self, src):
        self.src = os.path.abspath(src)
        self.files = {}  # module path tuple -> file path (file-level modules only)
        self.inline = set()  # module paths of inline modules
        self.children = {}  # module path -> set of child names (file or inline)
        self.texts = {}  # file -> stripped text
        self.spans = {}  # file -> [(start, end, inline module path)]
        self.order = []

    def add_root(self, path, root_mod):
        self.load(path, root_mod, os.path.dirname(path))

    def load(self, path, mod_path, dir_for_children):
        if not os.path.exists(path) or path in self.texts:
            return
        with open(path, encoding="utf-8") as f:
            raw = f.read()
        text = strip_code(raw)
        self.texts[path] = text
        self.files[mod_path] = path
        self.order.append(path)
        self.spans[path] = []
        self.scan_mods(path, raw, text, mod_path, dir_for_children)

    def scan_mods(self, path, raw, text, mod_path, child_dir):
        """Declared modules of a file, with inline module nesting."""
        # Attributes (for #[path]) are read from the raw text at the same offsets.
        stack = []  # (inline module path, brace depth at which it closes, start offset)
        depth = 0
        i = 0
        while i < len(text):
            m = MOD_DECL_RE.match(text, i)
            if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                name, kind = m.group(2), m.group(3)
                cur = stack[-1][0] if stack else mod_path
                cur_dir = child_dir if not stack else os.path.join(child_dir, *stack[-1][0][len(mod_path):])
                self.children.setdefault(cur, set()).add(name)
                if kind == "{":
                    depth += 1
                    self.inline.add(cur + (name,))
                    stack.append((cur + (name,), depth, m.start()))
                    i = m.end()
                    continue
                attrs = raw[m.start(1):m.end(1)]
                pm = re.search(r'#\[\s*path\s*=\s*"([^"]+)"\s*\]', attrs)
                if pm:
                    p = os.path.normpath(os.path.join(cur_dir, pm.group(1)))
                    sub_dir = os.path.dirname(p) if os.path.basename(p) == "mod.rs" else os.path.splitext(p)[0]
                    self.load(p, cur + (name,), sub_dir)
                else:
                    a = os.path.join(cur_dir, name + ".rs")
                    b = os.path.join(cur_dir, name, "mod.rs")
                    if os.path.exists(a):
                        self.load(a, cur + (name,), os.path.join(cur_dir, name))
                    elif os.path.exists(b):
                        self.load(b, cur + (name,), os.path.join(cur_dir, name))
                i = m.end()
                continue
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                if stack and stack[-1][1] == depth:
                    inner, _, start = stack.pop()
                    self.spans[path].append((start, i, inner))
                depth -= 1
            i += 1

    def file_of(self, mod_path):
        """The file holding module `mod_path` (the deepest file-level prefix)."""
        for k in range(len(mod_path), -1, -1):
            if mod_path[:k] in self.files:
                return self.files[mod_path[:k]]
        return None

    def is_module(self, mod_path):
        return mod_path in self.files or mod_path in self.inline

    def resolve(self, segs, cur, root):
        """The module path a path names (its deepest module prefix), or None if external."""
        if not segs:
            return None
        if segs[0] == "crate":
            base, rest = root, segs[1:]
        elif segs[0] in ("super", "self"):
            base, rest = cur, segs
            while rest and rest[0] in ("super", "self"):
                if rest[0] == "super":
                    base = base[:-1] if len(base) > len(root) else base
                rest = rest[1:]
        elif segs[0] in self.children.get(cur, ()):
            base, rest = cur, segs
        else:
            return None
        path = base
        for s in rest:
            if self.is_module(path + (s,)):
                path = path + (s,)
            else:
                break
        return path

    def module_at(self, path, offset, mod_path):
        """The (inline) module path at `offset` of file `path`."""
        inside = [(start, inner) for start, end, inner in self.spans[path] if start <= offset < end]
        return max(inside)[1] if inside else mod_path

    def edges(self, root):
        mods = {p: m for m, p in self.files.items()}
        out = {}
        for path in self.order:
            if path not in mods or mods[path][: len(root)] != root:
                continue
            text = self.texts[path]
            mod_path = mods[path]
            targets = set()
            spans = []
            for m in USE_RE.finditer(text):
                spans.append((m.start(), m.end()))
                cur = self.module_at(path, m.start(), mod_path)
                for segs in expand_use(m.group(1)):
                    t = self.resolve(segs, cur, root)
                    if t is not None:
                        targets.add(self.file_of(t))
            in_use = [False] * (len(text) + 1)
            for a, b in spans:
                in_use[a:b] = [True] * (b - a)
            for m in PATH_RE.finditer(text):
                if in_use[m.start()]:
                    continue
                segs = tuple(s.strip() for s in m.group(1).split("::") if s.strip() and s.strip() != "{")
                cur = self.module_at(path, m.start(), mod_path)
                t = self.resolve(segs, cur, root)
                if t is not None and len(t) > 0:
                    targets.add(self.file_of(t))
            targets.discard(path)
            targets.discard(None)
            out[path] = targets
        return out


def cycles(graph):
    """Strongly connected components with more than one file (Tarjan, iterative)."""
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
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
                    sccs.append(sorted(comp))
    return sccs


def cycle_path(graph, comp):
    """One cycle through the component's first file (breadth-first, shortest)."""
    members = set(comp)
    start = comp[0]
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, ())):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp + [start]


def main(argv):
    verbose = "-v" in argv
    dirs = [a for a in argv if a != "-v"]
    if not dirs:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    found = False
    for src in dirs:
        if not os.path.isdir(src):
            print(f"import-cycles: {src}: not a directory", file=sys.stderr)
            return 2
        roots = [(os.path.join(src, n), (n[:-3],)) for n in ("lib.rs", "main.rs")]
        bin_dir = os.path.join(src, "bin")
        if os.path.isdir(bin_dir):
            roots += [(os.path.join(bin_dir, n), ("bin", n[:-3])) for n in sorted(os.listdir(bin_dir)) if n.endswith(".rs")]
        nfiles = 0
        for root_file, root in roots:
            if not os.path.exists(root_file):
                continue
            crate = Crate(src)
            crate.add_root(root_file, root)
            graph = crate.edges(root)
            nfiles += len(graph)
            rel = lambda p: os.path.relpath(p, src)
            if verbose:
                for a in sorted(graph):
                    for b in sorted(graph[a]):
                        print(f"{rel(a)} -> {rel(b)}")
            for comp in cycles(graph):
                found = True
                path = cycle_path(graph, comp)
                print(f"cycle in {src} ({len(comp)} files): " + " -> ".join(rel(p) for p in path))
        if nfiles and not found:
            print(f"import-cycles: {src}: no cycle ({nfiles} files)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
