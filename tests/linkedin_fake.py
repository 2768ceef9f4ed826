"""A fake LinkedIn (api.linkedin.com and the OAuth host) at the HTTP layer, for the LinkedIn
channel tests and the end-to-end loop tests: linkedin_v2 and requests run for real."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import requests
import responses


def enc(urn: str) -> str:
    return urn.replace(":", "%3A").replace("(", "%28").replace(")", "%29").replace(",", "%2C")


class FakeLinkedIn:
    """api.linkedin.com and www.linkedin.com/oauth: routes by method and (encoded) path."""

    def __init__(self, rsps: responses.RequestsMock):
        self.routes: dict[tuple[str, str], list] = {}
        self.requests: list[requests.PreparedRequest] = []
        for method in ("GET", "POST", "PUT"):
            rsps.add_callback(method, re.compile(r"https://(api|www)\.linkedin\.com/.*"), callback=self._answer)

    def on(self, method: str, path: str, status: int = 200, body=None, headers=None, *, repeat: bool = True):
        """Answer ``method path`` (path without query). Several calls queue answers in order."""
        answers = self.routes.setdefault((method, path), [])
        answers.append((status, body, headers or {}, repeat))

    def _answer(self, request):
        self.requests.append(request)
        path = urlsplit(request.url).path
        answers = self.routes.get((request.method, path))
        if not answers:
            return 404, {}, json.dumps({"status": 404, "code": "NOT_FOUND", "message": f"no fake for {request.method} {path}"})
        status, body, headers, repeat = answers[0] if len(answers) == 1 else answers.pop(0)
        if isinstance(body, BaseException):
            raise body
        if callable(body):
            body = body(request)
        return status, headers, json.dumps(body) if body is not None else ""

    def calls(self, method: str | None = None, path: str | None = None):
        return [r for r in self.requests if (method is None or r.method == method)
                and (path is None or urlsplit(r.url).path == path)]

    def query(self, request) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}

    def paths(self) -> list[tuple[str, str]]:
        return [(r.method, urlsplit(r.url).path) for r in self.requests]
