"""``/docs`` needs no network: the page names only this API's own URLs, and each answers."""

from __future__ import annotations

import re

from tests.functions.apiapp import Api

URL_ATTRIBUTE = re.compile(r'(?:src|href)="([^"]*)"')
QUOTED_URL = re.compile(r"""['"]((?:https?:)?//[^'"]+)['"]""")


def test_the_docs_page_loads_only_local_files_and_each_answers(api: Api) -> None:
    page = api.client.get("/docs")  # no token: the page is public
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert QUOTED_URL.findall(html) == [], "the page names another host"
    assets = URL_ATTRIBUTE.findall(html)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    assert "url: '/openapi.json'" in html and '"validatorUrl": null' in html
    for url in [*assets, "/openapi.json"]:
        assert url.startswith("/"), url
        reply = api.client.get(url)
        assert reply.status_code == 200 and len(reply.content) > 100, url
    script = api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "max-age" in script.headers["cache-control"]


def test_only_the_pages_own_files_are_served_and_the_cdn_pages_are_gone(api: Api) -> None:
    for name in ("redoc.standalone.js", "..%2F__init__.py", "%2E%2E%2Fcore.py", "nope.css"):
        assert api.client.get(f"/docs/assets/{name}").status_code == 404, name
    for path in ("/redoc", "/docs/oauth2-redirect"):
        assert api.client.get(path).status_code in (401, 404), path
