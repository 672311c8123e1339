"""The docs site's own parts: the OpenAPI page and the mapping of repository links."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs tools are the `docs` extra: `make docs`")

from infra.docs_site.hooks import LINK, site_link
from infra.docs_site.openapi_markdown import anchor, render

ROOT = Path(__file__).resolve().parents[3]


def rewrite(markdown: str, home: str, src_uri: str) -> str:
    return LINK.sub(lambda match: site_link(match, home, src_uri), markdown)


@pytest.mark.parametrize(
    ("markdown", "home", "src_uri", "expected"),
    [
        ("[r](../bench/results/x.md)", "docs", "guarantees.md", "[r](results/x.md)"),
        (
            "[r](../../bench/results/x.md#a)",
            "docs/reference",
            "reference/q.md",
            "[r](../results/x.md#a)",
        ),
        ("[g](../../docs/guarantees.md)", "bench/results", "results/x.md", "[g](../guarantees.md)"),
        ("[q](queues.md#adding)", "docs", "api.md", "[q](queues.md#adding)"),
        ("[o](../README.md)", "docs", "api.md", "[o](../README.md)"),
        ("[w](https://example.com/a.md)", "docs", "api.md", "[w](https://example.com/a.md)"),
    ],
)
def test_repository_links_become_site_links(
    markdown: str, home: str, src_uri: str, expected: str
) -> None:
    assert rewrite(markdown, home, src_uri) == expected


def test_the_openapi_page_has_every_route_and_schema_and_links_only_to_them() -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    page = render(document)
    for path, item in document["paths"].items():
        for method in item:
            assert f"### `{method.upper()} {path}`" in page
    schemas = document["components"]["schemas"]
    for name in schemas:
        assert f"### {name} {{#{anchor(name)}}}" in page
    targets = set(re.findall(r"\]\(#(schema-[a-z0-9_-]+)\)", page))
    assert targets and targets <= {anchor(name) for name in schemas}


def test_a_table_cell_cannot_be_split_by_a_description() -> None:
    document = {
        "paths": {"/x": {"get": {"description": "a | b\nc", "responses": {"200": {}}}}},
        "components": {"schemas": {"S": {"properties": {"f": {"description": "1 | 2"}}}}},
    }
    page = render(document)
    assert "a \\| b c" in page and "1 \\| 2" in page
