"""Hostile text in any field renders as text, and nothing is ever fetched: a probe server on loopback hears nothing."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from evidence.builder import render_pdf
from evidence.fetcher import FetchRefused, StaticOnlyFetcher
from tests.evidence.helpers import attachments, text


class Probe:
    def __init__(self) -> None:
        self.requests: list[str] = []
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                probe.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.end_headers()
                self.wfile.write(b"body { color: red }")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"


@pytest.fixture
def probe() -> Iterator[Probe]:
    server = Probe()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def hostile(probe: Probe) -> dict[str, str]:
    return {
        "intended_use": "<img src=file:///etc/passwd>",
        "out_of_scope_use": f"<link rel=stylesheet href={probe.url('link.css')}>",
        "known_risks": f"<style>@import url({probe.url('import.css')});</style>",
        "escalation_paths": f'<svg><image href="{probe.url("svg.png")}"/></svg>',
        "regulatory_considerations": f"<a rel=attachment href={probe.url('attach.bin')}>x</a>",
    }


def squeezed(value: str) -> str:
    return "".join(value.split())


@pytest.mark.django_db
def test_hostile_text_in_fields_renders_as_text_and_fetches_nothing(world, probe, tmp_path) -> None:
    model_version = world.model()
    sections = hostile(probe)
    world.card(model_version, **sections)
    output = tmp_path / "pack.pdf"

    call_command("build_evidence_pack", "--model-version", model_version.identifier, "--output", str(output))

    pdf = output.read_bytes()
    pages = squeezed(text(pdf))
    for value in sections.values():
        assert squeezed(value) in pages
    assert probe.requests == []
    assert set(attachments(pdf)) == {
        "manifest.json",
        "ledger.jsonl",
        "provenance.json",
        "bom.cdx.json",
        "validation-results.csv",
    }


def test_even_unescaped_markup_cannot_make_the_renderer_fetch_anything(probe) -> None:
    """The second wall: were markup ever to get through unescaped, the URL fetcher still refuses."""
    html = (
        f"<html><head><link rel=stylesheet href={probe.url('head.css')}>"
        f"<style>@import url({probe.url('import.css')}); body {{ background: url({probe.url('bg.png')}) }}</style>"
        f"</head><body><img src=file:///etc/passwd><img src={probe.url('img.png')}>"
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        f'<image href="{probe.url("svg.png")}" width="10" height="10"/>'
        f'<image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>'
        f"<a rel=attachment href={probe.url('attach.bin')}>attachment</a>"
        f"<iframe src={probe.url('frame')}></iframe><object data={probe.url('object')}></object>"
        "<p>body</p></body></html>"
    )

    pdf, pages = render_pdf(html, {"manifest.json": b"{}"}, generated_at=timezone.now())

    assert probe.requests == []
    assert pages == 1
    assert b"root:" not in pdf
    assert set(attachments(pdf)) == {"manifest.json"}


def test_the_fetcher_serves_data_urls_and_static_files_only(probe) -> None:
    fetcher = StaticOnlyFetcher()
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    static_file = next(p for p in Path(settings.STATICFILES_DIRS[0]).rglob("*") if p.is_file())
    assert fetcher.fetch(static_file.resolve().as_uri()).read() == static_file.read_bytes()
    for url in (
        probe.url("x"),
        "file:///etc/passwd",
        (Path(settings.STATICFILES_DIRS[0]).resolve() / ".." / "manage.py").as_uri(),
        f"https://127.0.0.1:{probe.port}/",
        f"ftp://127.0.0.1:{probe.port}/",
        "file://127.0.0.1/etc/passwd",
    ):
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)
    assert probe.requests == []
