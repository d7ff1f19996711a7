"""The only way a pack's rendering may read anything: ``data:`` URLs and the project's own static files.

User-written text never becomes markup (the template engine escapes it), so this is the second wall: even a
URL that got into the document could reach neither the network nor any file outside the static directories.
No redirects are followed, and the timeout is short.
"""

import base64
import binascii
import mimetypes
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from django.conf import settings
from weasyprint.urls import URLFetcher, URLFetcherResponse


class FetchRefused(ValueError):
    """A URL outside what a pack may read."""


def static_roots() -> list[Path]:
    roots = [Path(p).resolve() for p in getattr(settings, "STATICFILES_DIRS", [])]
    if getattr(settings, "STATIC_ROOT", None):
        roots.append(Path(settings.STATIC_ROOT).resolve())
    return roots


def _data_url(url: str) -> URLFetcherResponse:
    header, _, payload = url[len("data:") :].partition(",")
    media_type = header.split(";")[0] or "text/plain"
    try:
        body = base64.b64decode(payload, validate=True) if header.endswith(";base64") else unquote_to_bytes(payload)
    except binascii.Error as error:
        raise FetchRefused("malformed data: URL") from error
    return URLFetcherResponse(url, body, {"Content-Type": media_type})


class StaticOnlyFetcher(URLFetcher):
    """Serves ``data:`` URLs and files under the static directories; refuses everything else."""

    def __init__(self) -> None:
        super().__init__(timeout=3, allowed_protocols=("data", "file"), allow_redirects=False, fail_on_errors=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return _data_url(url)
        parts = urlsplit(url)
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            path = Path(unquote(parts.path)).resolve()
            for root in static_roots():
                if path.is_relative_to(root) and path.is_file():
                    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})
        self.refused.append(url)
        raise FetchRefused(f"An evidence pack may not fetch {url[:200]}")
