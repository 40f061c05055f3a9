"""A local HTTP server standing in for an external JSON API (WeChat, Aliyun SMS)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlparse


@contextlib.contextmanager
def fake_json_api(answer: Callable[[str, dict], dict]) -> Iterator[tuple[str, list]]:
    """Serve GET requests (and POSTs of a form) with `answer(path, query)`, the form's fields
    being the query of a POST; yields the base URL and the requests seen."""
    seen: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            self.reply(url.path, dict(parse_qsl(url.query, keep_blank_values=True)))

        def do_POST(self):
            form = self.rfile.read(int(self.headers["Content-Length"])).decode()
            self.reply(urlparse(self.path).path, dict(parse_qsl(form, keep_blank_values=True)))

        def reply(self, path: str, query: dict) -> None:
            seen.append((path, query))
            payload = json.dumps(answer(path, query)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
