"""A small callback endpoint on 127.0.0.1, for testing and for banks that proxy WeCom callbacks to a host.

Bound to the loopback address only: a public endpoint belongs behind the bank's HTTPS reverse proxy.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ._callback import CallbackHandler

__all__ = ["CallbackServer"]

log = logging.getLogger("workbench.wecom.callback")
_MAX_BODY = 64 * 1024


class CallbackServer:
    """``with CallbackServer(handler, port=0) as server: server.url`` — serves in a background thread."""

    def __init__(self, handler: CallbackHandler, *, port: int = 0):
        logic = handler

        class _Handler(BaseHTTPRequestHandler):
            server_version = "workbench-callback"
            wbufsize = 1 << 16  # headers and body leave in one write (two small writes meet Nagle + delayed ACK: 40 ms each)

            def log_message(self, fmt, *args):  # the default logs the query string (signature, nonce) to stderr
                pass

            def _answer(self, method: str) -> None:
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    self.send_error(413)
                    return
                body = self.rfile.read(length) if length else b""
                try:
                    resp = logic.handle(method, query, body)
                except Exception:  # a bug or a locked database: 500 lets WeCom retry; the nonce was not consumed
                    log.exception("callback handler failed")
                    self.send_error(500)
                    return
                self.send_response(resp.status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(resp.body)))
                self.end_headers()
                self.wfile.write(resp.body)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", int(port)), _Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def start(self) -> "CallbackServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="wecom-callback", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "CallbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
