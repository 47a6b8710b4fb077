"""The tests mirror the package, one folder per subpackage, and the modules that no test imports only get fewer.

A module listed in UNTESTED is exercised only through the command line (or not at all). Give it a test that
imports it, then remove it from the list: the test fails while a listed module is tested, so the list stays true.
"""

import ast

from tests.conftest import ROOT

SOURCE = ROOT / "src" / "gptisyou"
TESTS = ROOT / "tests"
UNTESTED = {
    "gptisyou.__main__",
    "gptisyou.checksums",
    "gptisyou.cli.bridge",
    "gptisyou.cli.chats",
    "gptisyou.cli.context",
    "gptisyou.cli.dataset",
    "gptisyou.cli.evaluate",
    "gptisyou.cli.export",
    "gptisyou.cli.hosted",
    "gptisyou.cli.portrait",
    "gptisyou.cli.train",
    "gptisyou.eval.report",
    "gptisyou.export.model_card",
    "gptisyou.export.package",
    "gptisyou.hosted.finetune",
    "gptisyou.hosted.providers",
    "gptisyou.portrait.beside",
    "gptisyou.portrait.facts",
    "gptisyou.portrait.observe",
    "gptisyou.portrait.tone",
    "gptisyou.portrait.topics",
    "gptisyou.serve.config",
    "gptisyou.serve.worker",
    "gptisyou.settings",
    "gptisyou.sources.googlechat",
    "gptisyou.sources.sample",
    "gptisyou.sources.signal",
    "gptisyou.sources.walk",
    "gptisyou.train.checkpoint",
    "gptisyou.train.distributed",
    "gptisyou.train.samples",
}


def _modules() -> set[str]:
    """Every module of the package, a subpackage's `__init__` left out (it holds no code of its own)."""
    return {
        ".".join(("gptisyou", *path.relative_to(SOURCE).with_suffix("").parts))
        for path in SOURCE.rglob("*.py")
        if path.name != "__init__.py"
    }


def _imported_by_tests() -> set[str]:
    """Each `gptisyou…` module a test imports, whether as `import a.b`, `from a.b import c` or `from a import b`."""
    imported = set()
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return imported


def test_the_modules_no_test_imports_are_the_listed_ones_and_no_more():
    untested = _modules() - _imported_by_tests()
    assert sorted(untested - UNTESTED) == [], "a new module with no test importing it: add its test"
    assert sorted(UNTESTED - untested) == [], "these modules are tested (or gone) now: remove them from UNTESTED"


def test_the_tests_mirror_the_package_one_folder_per_subpackage():
    packages = {path.parent.name for path in SOURCE.glob("*/__init__.py")}
    folders = {path.parent.name for path in TESTS.glob("*/__init__.py")}
    loose = sorted(path.name for path in TESTS.glob("test_*.py"))
    assert packages - folders == set()
    assert loose == ["test_docs.py", "test_layers.py", "test_layout.py"], "a test of one package goes in its folder"


def test_no_function_of_the_package_runs_over_sixty_lines():
    long = []
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{path.relative_to(SOURCE)}:{node.lineno} {node.name}")
    assert long == [], "split these functions: over 60 lines each"


def test_a_module_name_says_what_it_holds_once():
    """Two modules share a name only where the name is a role every stage or messenger has: a stage's settings
    (`config.py`), a stage's builder (`build.py`), a command's module in `cli/` named after its library, and a
    messenger's reader beside its bridge."""
    shared_roles = {"__init__.py", "config.py", "build.py", "telegram.py", "discord.py"}
    seen = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if path.parent.name != "cli" and path.name not in shared_roles:
            seen.setdefault(path.name, []).append(str(path.relative_to(SOURCE)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
