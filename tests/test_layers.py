"""The layers hold: no module imports one of a later layer or a peer of its own, at module level or inside a
function (where the heavy imports hide).

    base (messages, errors, checksums, settings, plots) → sources → store → data → engine → train → chooser → eval
        → export · hosted · serve · portrait · bridges → cli
"""

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "src" / "gptisyou"
LAYERS = [
    {"messages", "errors", "checksums", "settings", "plots", "__init__"},  # __init__: the version, nothing else
    {"sources"},
    {"store"},
    {"data"},
    {"engine"},
    {"train"},
    {"chooser"},
    {"eval"},
    {"export", "hosted", "serve", "portrait", "bridges"},
    {"cli", "__main__"},
]
RANK = {part: rank for rank, layer in enumerate(LAYERS) for part in layer}


def _part(module: str) -> str:
    """The top-level part of `gptisyou.<part>.…`: a subpackage or a module beside them (else the package's own
    `__init__`, as for `gptisyou.__version__`)."""
    part = module.split(".")[1]
    return part if part in RANK else "__init__"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "gptisyou")
    return {name for name in found if name.startswith("gptisyou.")}


def test_every_part_of_the_package_has_a_layer():
    parts = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if path.suffix == ".py" or (path / "__init__.py").is_file()
    }
    assert parts <= set(RANK), f"give these a layer: {sorted(parts - set(RANK))}"


def test_no_import_runs_backwards_or_sideways():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        part = relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem
        for imported in sorted(_imports(path)):
            target = _part(imported)
            if target != part and RANK[target] >= RANK[part] and part not in LAYERS[-1]:
                wrong.append(f"{relative} imports {imported}")
    assert wrong == []
