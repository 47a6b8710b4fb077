"""The documentation cannot go stale: the CLI reference is what the commands say, and every link resolves."""

import re
import runpy

from tests.conftest import ROOT


def test_the_cli_reference_is_what_the_commands_say():
    script = runpy.run_path(str(ROOT / "scripts" / "cli_reference.py"))
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == script["reference"](), (
        "docs/cli.md is stale: run python scripts/cli_reference.py"
    )


def test_every_local_link_of_the_readme_and_the_docs_resolves():
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://")) and not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []


def test_the_readme_starts_with_the_two_commands_and_the_test_command_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert readme[3:5] == [
        "make demo    # sets up .venv/ and runs the end-to-end demo on a bundled sample chat",
        "make test    # sets up .venv/ and runs the whole test suite",
    ]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_quality_targets_read_as_the_verdicts_grade():
    from gptisyou.eval.verdict import TARGETS

    quality = (ROOT / "docs" / "quality.md").read_text(encoding="utf-8")
    missing = [f"({target}" for target in TARGETS.values() if f"({target}" not in quality]
    assert missing == []


def test_the_architecture_names_every_module_where_its_package_is_described():
    """docs/architecture.md's layout has one bullet per package (`- data/: …`) naming each of its modules; the
    modules beside the packages are named in the other bullets."""
    bullets = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split("\n- ")
    described = {}
    for bullet in bullets:
        package = re.match(r"`(\w+)/`", bullet)
        key = package.group(1) if package else ""
        described[key] = described.get(key, "") + bullet
    source = ROOT / "src" / "gptisyou"
    missing = []
    for module in sorted(source.rglob("*.py")):
        parts = module.relative_to(source).parts
        package = parts[0] if len(parts) > 1 else ""
        if module.name not in ("__init__.py", "__main__.py") and f"`{module.name}`" not in described.get(package, ""):
            missing.append("/".join(parts))
    assert missing == [], "docs/architecture.md: name these modules in their package's bullet"
