"""``make install`` reinstalls when a dependency list changes, and only then: its stamp is
named by a digest of those lists (infra/deps_digest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.deps_digest import FILES, digest

ROOT = Path(__file__).resolve().parents[3]


def copy_project(tmp_path: Path) -> Path:
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_tool_settings_and_timestamps_leave_the_digest_alone(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    before = digest(root)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.example]\nsetting = 1\n")

    assert digest(root) == before == digest(ROOT)


def test_a_new_dependency_changes_the_digest(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    before = digest(root)
    client = root / "client" / "pyproject.toml"
    text = client.read_text()
    client.write_text(text.replace("dependencies = [", 'dependencies = [\n    "six",', 1))

    assert digest(root) != before


def test_the_makefile_names_its_install_stamp_by_the_digest() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "DEPS := $(shell $(PYTHON) infra/deps_digest.py)" in makefile
    assert "install: $(VENV)/.installed-$(DEPS)" in makefile
