"""``/docs``: Swagger UI with its files served by the API itself, so the page works with no
network at all (a laptop offline, a VPC without egress). The files come from the
``fastapi-offline`` package, installed with the API; nothing is fetched from a CDN.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}
"""The files the page loads, and their media types: nothing else is served."""

ASSET_PATH = "/docs/assets"
CACHE = "public, max-age=86400"

router = APIRouter(include_in_schema=False)


@cache
def asset_folder() -> Path:
    """The package's folder of Swagger UI files, found without importing the package."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline package is missing: pip install fastapi-offline")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``; every URL on the page is this API's own."""
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}{ASSET_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSET_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSET_PATH}/favicon.png",
        oauth2_redirect_url=None,
        # Swagger UI would otherwise send the document to validator.swagger.io for a badge.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(ASSET_PATH + "/{asset}")
def docs_asset(asset: str) -> FileResponse:
    """One of the page's files (a name not in ``ASSETS`` is not found)."""
    if asset not in ASSETS:
        raise HTTPException(404, f"no docs asset {asset!r}")
    return FileResponse(
        asset_folder() / asset, media_type=ASSETS[asset], headers={"Cache-Control": CACHE}
    )
