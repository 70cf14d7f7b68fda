"""The layering the design promises, checked on the source: who may import what."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _python_files() -> list[Path]:
    skip = {".venv", "vendor", "tests", "out", ".git"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def test_only_app_and_the_ui_package_import_streamlit():
    importers = {str(p.relative_to(ROOT)) for p in _python_files() if "streamlit" in _imports(p)}
    assert importers, "no file imports streamlit: the check is not looking at the source"
    assert all(name == "app.py" or name.startswith("ui/") for name in importers), sorted(importers)


def test_models_import_neither_streamlit_nor_plotly():
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "models").rglob("*.py") if {"streamlit", "plotly"} & _imports(p)
    ]
    assert not offenders


def test_viz_loads_no_model():
    for path in (ROOT / "viz").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "load_model" not in source and "streamlit" not in _imports(path), path.name
