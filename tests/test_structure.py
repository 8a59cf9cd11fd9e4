"""The layout's rules, checked on the source: the CLI is one package that no library module
imports, argparse lives only there, module-level imports form no circle, and the core
(profile → estimate → select → controller) imports nothing from the layers around it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
CORE = ("alert.profile", "alert.goals", "alert.filters", "alert.estimators", "alert.estimate", "alert.outcome",
        "alert.select", "alert.controller")
OUTER = ("alert.cli", "alert.evaluation", "alert.system", "alert.runtime", "alert.live", "alert.profiler", "alert.nn",
         "alert.nlp", "alert.demo")


def modules() -> dict[str, Path]:
    out = {}
    for f in (SRC / "alert").rglob("*.py"):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def imports(name: str, path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def within(mod: str, prefixes: tuple[str, ...]) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def test_no_library_module_imports_the_cli_or_argparse():
    bad = []
    for name, path in modules().items():
        if within(name, ("alert.cli",)) or name == "alert.__main__":
            continue
        imp = imports(name, path, top_level_only=False)
        bad += [f"{name} imports {m}" for m in imp if m == "argparse" or within(m, ("alert.cli",))]
    assert not bad, bad


def test_core_does_not_import_outer_layers():
    bad = []
    for name, path in modules().items():
        if within(name, CORE):
            bad += [f"{name} imports {m}" for m in imports(name, path, top_level_only=False) if within(m, OUTER)]
    assert not bad, bad


def test_no_import_circle_at_module_level():
    mods = modules()
    graph = {n: {m for m in imports(n, p, top_level_only=True) if m in mods and m != n} for n, p in mods.items()}
    # a package importing its own submodules is how packages are built, not a circle
    for n, deps in graph.items():
        graph[n] = {m for m in deps if not (mods[n].name == "__init__.py" and m.startswith(n + ".")
                                            and n not in graph.get(m, ()))}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(m):] + [m]))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_python_dash_m_alert_runs():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "alert", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "usage: alert" in r.stdout


def test_code_cites_the_projects_own_docs():
    """Readings are cited as docs/<file>.md with a heading; the file and the heading exist, and
    nothing cites a notes file outside the repository."""
    import re

    root = SRC.parent
    cited = 0
    for path in list((SRC / "alert").rglob("*.py")) + list((root / "docs").glob("*.md")):
        text = path.read_text()
        assert "NOTES.md" not in text, f"{path} cites NOTES.md, which is not in the repository"
        for doc, heading in re.findall(r'(docs/[\w-]+\.md),?\s+\(?"([^"]+)"', text):
            target = root / doc
            assert target.is_file(), f"{path} cites {doc}, which does not exist"
            heads = {" ".join(h.split()) for h in re.findall(r"^#+ (.+)$", target.read_text(), re.M)}
            assert " ".join(heading.split()) in heads, f"{path} cites {doc} \"{heading}\": no such heading"
            cited += 1
    assert cited >= 8
