"""The docs site builds in strict mode, and the links into it resolve.

MkDocs checks the links and anchors between the site's pages itself (``validation`` in
``mkdocs.yml`` makes each broken one a warning, and strict mode a failure); these tests
prove that it does, and check what MkDocs cannot see: the README's links into ``docs/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs tools are the `docs` extra: `make docs`")
pytest.importorskip("material", reason="the docs tools are the `docs` extra: `make docs`")

ROOT = Path(__file__).resolve().parents[3]
LINK = re.compile(r"\]\(([^)\s]+)\)|src=\"([^\"]+)\"")


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT / "mkdocs.yml", out)
    assert done.returncode == 0, done.stderr
    return out


class Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)


def ids_of(page: Path) -> set[str]:
    parser = Ids()
    parser.feed(page.read_text())
    return parser.ids


def test_the_site_has_every_page_the_api_reference_and_the_openapi_routes(site: Path) -> None:
    for page in (ROOT / "docs").rglob("*.md"):
        assert (site / page.relative_to(ROOT / "docs")).with_suffix(".html").is_file(), page
    for record in (ROOT / "bench" / "results").glob("*.md"):
        assert (site / "results" / record.name).with_suffix(".html").is_file(), record
    reference = (site / "reference" / "definition.html").read_text()
    assert "QueueDefinition" in reference and "doc-heading" in reference
    openapi = (site / "openapi.html").read_text()
    assert "POST /jobs/{queue}" in openapi and 'id="schema-joboptions"' in openapi


def test_the_site_loads_nothing_from_another_host(site: Path) -> None:
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "fonts.googleapis.com" not in text, page
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", text), page


def test_the_readme_links_resolve_into_the_repository_and_the_site(site: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    links = [a or b for a, b in LINK.findall(readme)]
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if re.match(r"[a-z]+:", link) or link.startswith("#"):
            continue
        path, _, anchor = link.partition("#")
        assert (ROOT / path).exists(), f"README links to a missing {path}"
        if anchor:
            assert path.startswith("docs/") and path.endswith(".md"), link
            page = (site / path.removeprefix("docs/")).with_suffix(".html")
            assert anchor in ids_of(page), f"README links to a missing anchor: {link}"


def test_a_broken_link_or_anchor_fails_the_strict_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    shutil.copytree(ROOT / "bench" / "results", tmp_path / "bench" / "results")
    config = (ROOT / "mkdocs.yml").read_text()
    for relative in (
        "docs_dir: docs",
        "- infra/docs_site/hooks.py",
        "paths: [layers/corral, client]",
    ):
        assert relative in config  # each path in the copy must point back at the repository
    config = config.replace("docs_dir: docs", f"docs_dir: {docs}")
    config = config.replace("- infra/", f"- {ROOT}/infra/")
    config = config.replace(
        "paths: [layers/corral, client]", f"paths: [{ROOT}/layers/corral, {ROOT}/client]"
    )
    (tmp_path / "mkdocs.yml").write_text(config)
    assert build(tmp_path / "mkdocs.yml", tmp_path / "site").returncode == 0

    for broken in ("[gone](no-such-page.md)", "[gone](queues.md#no-such-anchor)"):
        page = docs / "testing.md"
        page.write_text(page.read_text() + f"\n{broken}\n")
        done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
        assert done.returncode != 0, broken
        assert "no-such" in done.stderr
        page.write_text((ROOT / "docs" / "testing.md").read_text())
