"""MkDocs hooks (``mkdocs.yml``): pages the site adds to what ``docs/`` holds.

- ``openapi.md``, rendered from ``docs/openapi.json`` at each build, so it cannot go stale;
- ``results/<name>.md`` for each dated record in ``bench/results/``, which lives beside the
  benchmark that writes it rather than in ``docs/``.

The pages are written to read well on a repository browser too, so their links are
repository paths (``../bench/results/...`` from ``docs/``, ``../../docs/...`` from
``bench/results/``). ``on_page_markdown`` maps each such link to the page's place in the
site before MkDocs checks it, so a broken one still fails the strict build.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from infra.docs_site.openapi_markdown import render

RESULTS = "bench/results"
SITE_RESULTS = "results"
LINK = re.compile(r"(\]\()([^)\s#]+\.md)(#[^)\s]*)?(\))")
ELSEWHERE = re.compile(r"^([a-z][a-z0-9+.-]*:|/)")  # a URL, or an absolute path


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = repository_root(config)
    document = json.loads((Path(config.docs_dir) / "openapi.json").read_text())
    files.append(File.generated(config, "openapi.md", content=render(document)))
    for record in sorted((root / RESULTS).glob("*.md")):
        files.append(
            File.generated(config, f"{SITE_RESULTS}/{record.name}", abs_src_path=str(record))
        )
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    home = repository_home(page.file.src_uri)
    return LINK.sub(lambda match: site_link(match, home, page.file.src_uri), markdown)


def site_link(match: re.Match[str], home: str, src_uri: str) -> str:
    """The link rewritten from a repository path to a site path, or left as it was."""
    opening, target, fragment, closing = match.groups()
    if ELSEWHERE.match(target):
        return match.group(0)
    in_repository = posixpath.normpath(posixpath.join(home, target))
    site_path = site_path_of(in_repository)
    if site_path is None:
        return match.group(0)
    relative = posixpath.relpath(site_path, posixpath.dirname(src_uri) or ".")
    return f"{opening}{relative}{fragment or ''}{closing}"


def repository_home(src_uri: str) -> str:
    """The repository folder a page's source lives in."""
    if src_uri.startswith(f"{SITE_RESULTS}/"):
        return RESULTS
    return posixpath.dirname(posixpath.join("docs", src_uri))


def site_path_of(in_repository: str) -> str | None:
    if in_repository.startswith(f"{RESULTS}/"):
        return f"{SITE_RESULTS}/{in_repository.removeprefix(f'{RESULTS}/')}"
    if in_repository.startswith("docs/"):
        return in_repository.removeprefix("docs/")
    return None


def repository_root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent
