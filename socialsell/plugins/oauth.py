"""A loopback receiver for OAuth redirects (RFC 8252, section 7.3), shared by channel plugins.

``channels connect`` opens the network's sign-in page with ``redirect_uri`` pointing at a
one-shot HTTP server on 127.0.0.1; the browser brings the authorization ``code`` (or an
``error``) back there. The receiver checks the ``state`` it was given against the one the
redirect carries, so a link forged by someone else cannot plant their code:

- ``on_wrong_state="ignore"`` (the default): a redirect with another state is answered 400
  and the receiver keeps waiting for the right one;
- ``on_wrong_state="refuse"``: the first redirect ends the wait, and a wrong state raises
  :class:`~socialsell.plugins.channel.AuthError` (for a flow that must not linger once a
  foreign answer has arrived).

The query holds the code: nothing here logs a request or prints a parameter.
"""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from socialsell.plugins.channel import AuthError

if TYPE_CHECKING:  # pragma: no cover
    from http.server import BaseHTTPRequestHandler

WRONG_STATE_CHOICES = ("ignore", "refuse")


class LoopbackReceiver:
    """One OAuth redirect, received on ``http://127.0.0.1:PORT/PATH``.

    Use it as a context manager around opening the sign-in page::

        with LoopbackReceiver(state=state, network="Mastodon") as receiver:
            echo(f"Open {authorize_url(redirect_uri=receiver.redirect_uri, state=state)}")
            params = receiver.wait(300)  # None after 300 s without an answer
        if params is None: raise AuthError("no answer ...")
        if "error" in params: raise AuthError(f"... {params['error']}")
        code = params["code"]

    :param state: the unguessable ``state`` sent with the authorization request.
    :param port: the port to listen on; 0 picks a free one (``redirect_uri`` says which).
    :param path: the redirect's path; other paths are answered 404.
    :param network: the network's name, for the page the browser shows.
    :param on_wrong_state: ``"ignore"`` or ``"refuse"`` (see the module docstring).
    :raises AuthError: when the port cannot be listened on.
    """

    def __init__(self, *, state: str, port: int = 0, path: str = "/callback", network: str = "the network",
                 on_wrong_state: str = "ignore"):
        if on_wrong_state not in WRONG_STATE_CHOICES:
            raise ValueError(f"on_wrong_state must be one of {WRONG_STATE_CHOICES}, not {on_wrong_state!r}")
        self.state, self.path, self.network, self.on_wrong_state = state, path, network, on_wrong_state
        self.params: dict[str, str] | None = None
        self._arrived = threading.Event()
        # imported here: http.server (with http.client, ssl, email) costs about 25 ms, measured
        # with -X importtime, and every command imports this module through socialsell.api
        from http.server import HTTPServer  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        try:
            self._server = HTTPServer(("127.0.0.1", port), self._handler())
        except OSError as e:
            raise AuthError(f"cannot listen on 127.0.0.1:{port} for {network}'s redirect ({e.strerror})") from None
        self._thread: threading.Thread | None = None

    @property
    def redirect_uri(self) -> str:
        """The URL to register with the network and send as ``redirect_uri``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def __enter__(self) -> LoopbackReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening (idempotent)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str] | None:
        """The redirect's query parameters, or None when none came within ``timeout`` seconds.

        :raises AuthError: with ``on_wrong_state="refuse"``, when the redirect carried another state.
        """
        if not self._arrived.wait(timeout):
            return None
        params = self.params or {}
        if params.get("state") != self.state:
            raise AuthError(f"{self.network}'s answer did not carry the state socialsell sent (possible forgery): "
                            "run connect again")
        return params

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        from http.server import BaseHTTPRequestHandler  # noqa: PLC0415 - a network library, imported at first use (docs/plugins.md)

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path != receiver.path or ("code" not in params and "error" not in params):
                    self.send_error(404)
                    return
                if receiver._arrived.is_set():
                    self._answer(409, "socialsell already received an answer. You can close this tab.")
                    return
                foreign = params.get("state") != receiver.state
                if foreign:
                    self._answer(400, "This sign-in link does not belong to the running socialsell connect.")
                    if receiver.on_wrong_state == "ignore":
                        return
                receiver.params = params
                if foreign:
                    pass  # answered above; wait() raises
                elif "error" in params:
                    self._answer(400, f"{receiver.network} said: {params['error']}. You can close this tab.")
                else:
                    self._answer(200, f"socialsell received {receiver.network}'s authorization. You can close this tab.")
                receiver._arrived.set()

            def _answer(self, status: int, text: str) -> None:
                body = f"<!doctype html><title>socialsell</title><p>{html.escape(text)}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the query holds the code
                return

        return Handler
