"""/docs (Swagger UI) and /redoc (ReDoc) that work offline and under a strict
Content-Security-Policy (`script-src 'self'`: no inline script).

Their JavaScript and CSS come from the fastapi-offline package (swagger-ui-bundle.js,
swagger-ui.css, redoc.standalone.js, MIT / Apache-2.0 licensed) and are served by the app under
DOCS_ASSETS_URL: no CDN, no web fonts, no favicon from elsewhere, no online validator, and
ReDoc's CDN-hosted footer logo replaced by an inline one. Swagger UI is started by a served
script (SWAGGER_INIT_JS) that reads the document's URL from its container's data attribute.
Both pages link back to the app.
"""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from app.api.openapi import install_openapi

DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
DOCS_ASSETS_URL = "/docs-assets"
SWAGGER_INIT_PATH = f"{DOCS_ASSETS_URL}/swagger-init.js"
ASSET_HEADERS = {"Cache-Control": "public, max-age=86400"}

# ReDoc's bundle always renders its "API docs by Redocly" footer with a logo fetched from
# its CDN (no option turns it off); it is swapped for an empty inline SVG when served.
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
INLINE_EMPTY_SVG = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"

SWAGGER_INIT_JS = """\
// Starts Swagger UI on #swagger-ui; the document's URL is in its data-openapi-url.
const root = document.getElementById("swagger-ui");
SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,  // never send the document to the public online validator
  defaultModelsExpandDepth: 0,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

_BACK_LINK_STYLE = (
    "nav.convscope-back{font:14px/1.4 system-ui,sans-serif;padding:8px 16px;"
    "background:#1f2933;}nav.convscope-back a{color:#fff;text-decoration:underline;}"
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{assets}/favicon.png">
{head}
<style>body{{margin:0;padding:0;}}{back_style}</style>
</head>
<body>
<nav class="convscope-back" aria-label="ConvScope"><a href="{root}/">&larr; Back to the
ConvScope app</a></nav>
{body}
</body>
</html>
"""


@cache
def redoc_script() -> bytes:
    """redoc.standalone.js with its one off-machine URL made inline."""
    script = (DOCS_ASSETS_DIR / "redoc.standalone.js").read_bytes()
    return script.replace(REDOC_CDN_LOGO, INLINE_EMPTY_SVG)


def _page(title: str, root: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(
            title=escape(title), assets=escape(root + DOCS_ASSETS_URL), root=escape(root),
            head=head, body=body, back_style=_BACK_LINK_STYLE,
        )
    )


def install_docs(app: FastAPI) -> None:
    """Finish /openapi.json, mount the assets and add GET /docs and /redoc."""
    install_openapi(app)

    # Registered before the mount so that they win over the files of the same name.
    @app.get(f"{DOCS_ASSETS_URL}/redoc.standalone.js", include_in_schema=False)
    def redoc_js() -> Response:
        return Response(redoc_script(), media_type="text/javascript", headers=ASSET_HEADERS)

    @app.get(SWAGGER_INIT_PATH, include_in_schema=False)
    def swagger_init_js() -> Response:
        return Response(SWAGGER_INIT_JS, media_type="text/javascript", headers=ASSET_HEADERS)

    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        assets = escape(root + DOCS_ASSETS_URL)
        return _page(
            f"{app.title} - Swagger UI", root,
            head=f'<link rel="stylesheet" href="{assets}/swagger-ui.css">',
            body=(
                f'<div id="swagger-ui" data-openapi-url="{escape(root + openapi_url)}"></div>\n'
                f'<script src="{assets}/swagger-ui-bundle.js"></script>\n'
                f'<script src="{escape(root + SWAGGER_INIT_PATH)}"></script>'
            ),
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _page(
            f"{app.title} - ReDoc", root, head="",
            body=(
                f'<redoc spec-url="{escape(root + openapi_url)}"></redoc>\n'
                f'<script src="{escape(root + DOCS_ASSETS_URL)}/redoc.standalone.js"></script>'
            ),
        )
