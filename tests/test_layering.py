"""The layering is checked by a machine: import-linter contracts in pyproject.toml, run here."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def _contract(contract_id: str) -> dict:
    return next(c for c in PYPROJECT["contracts"] if c["id"] == contract_id)


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH: import-linter builds its graph from the packages importable from cwd.
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)},
    )


def _copy_of_the_tree(tmp_path: Path) -> Path:
    for package in PYPROJECT["root_packages"]:
        shutil.copytree(BASE_DIR / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold():
    result = _lint(BASE_DIR)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_every_kernel_module_is_classified():
    """A new module in groupbuy/ is either kernel (imports no app) or composition root (on top)."""
    kernel = set(_contract("kernel")["source_modules"])
    top = {m.strip() for m in _contract("layers")["layers"][0].split(":")}
    modules = {f"groupbuy.{p.stem}" for p in (BASE_DIR / "groupbuy").iterdir() if p.suffix == ".py"}
    modules |= {f"groupbuy.{p.name}" for p in (BASE_DIR / "groupbuy").iterdir() if (p / "__init__.py").exists()}
    modules -= {"groupbuy.__init__"}

    assert modules - kernel - top == set()


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("community", "jielong"),  # an app importing one above it
        ("livestream", "jielong"),  # the live room reaching for jielong instead of its providers
        ("jielong", "demo"),  # an app importing the demo
        ("groupbuy", "community"),  # the kernel importing an app (through groupbuy/events.py)
        ("catalogue", "groupbuy.web"),  # an app importing the web shell
    ],
    ids=lambda value: value,
)
def test_an_upward_import_breaks_the_contracts(tmp_path, importer, imported):
    tree = _copy_of_the_tree(tmp_path)
    target = tree / importer / ("events.py" if importer == "groupbuy" else "models.py")
    target.write_text(target.read_text() + f"\nimport {imported}  # noqa\n")

    result = _lint(tree)

    assert result.returncode != 0
    assert "BROKEN" in result.stdout
