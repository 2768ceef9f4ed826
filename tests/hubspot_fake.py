"""A local HTTP server that plays the parts of HubSpot's CRM API the hubspot plugin uses.

hubspot-api-client speaks urllib3, which ``responses`` cannot see, so the real client is
pointed at this server through ``[hubspot] host``. It keeps objects in memory, checks the
Bearer token, logs every request (with the time it arrived) and can be told to answer the next
requests with a fault (429 with HubSpot's headers, 5xx, 401).
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

STAMP = "2026-11-23T08:00:00.000Z"


class FakeHubSpot:
    def __init__(self, token: str) -> None:
        self.token = token
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"contacts": {}, "tasks": {}, "notes": {}, "deals": {}}
        self.associations: dict[tuple[str, str, str], list[str]] = {}  # (from type, id, to type) -> ids
        self.owners: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.faults: list[tuple[int, dict[str, str], dict[str, Any], str | None]] = []
        #: ("POST /crm/v3/objects/contacts", pid): after applying that request, SIGKILL the client
        #: before it can read the answer (a crash between HubSpot's call and socialsell's commit)
        self.kill_after: tuple[str, int] | None = None
        self.unsearchable: set[str] = set()  # ids search does not show yet (HubSpot's index lags)
        #: when set, a property outside it is refused like HubSpot does (400 PROPERTY_DOESNT_EXIST)
        self.known_properties: set[str] | None = None
        self._next = 100
        self._lock = threading.Lock()

    # -- set-up helpers for tests --------------------------------------------------------

    def add(self, kind: str, properties: dict[str, Any]) -> str:
        with self._lock:
            self._next += 1
            oid = str(self._next)
        self.objects[kind][oid] = {"id": oid, "properties": {k: str(v) for k, v in properties.items()}}
        return oid

    def associate(self, from_kind: str, from_id: str, to_kind: str, to_id: str) -> None:
        self.associations.setdefault((from_kind, from_id, to_kind), []).append(to_id)
        self.associations.setdefault((to_kind, to_id, from_kind), []).append(from_id)

    def fail_next(self, status: int, headers: dict[str, str] | None = None, body: dict[str, Any] | None = None,
                  count: int = 1, on: str | None = None) -> None:
        """Answer the next ``count`` requests (those to ``on``, "POST /path", when given) with a fault."""
        for _ in range(count):
            self.faults.append((status, headers or {}, body or {"status": "error", "message": f"fault {status}"}, on))

    def _fault(self, method: str, path: str) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        for i, (status, headers, body, on) in enumerate(self.faults):
            if on is None or on == f"{method} {path}":
                del self.faults[i]
                return status, headers, body
        return None

    def calls(self, method: str | None = None, path: str = "") -> list[dict[str, Any]]:
        return [r for r in self.requests if (method is None or r["method"] == method) and r["path"].startswith(path)]

    # -- the API -------------------------------------------------------------------------

    def _obj(self, kind: str, obj: dict[str, Any], properties: list[str] | None = None) -> dict[str, Any]:
        props = obj["properties"]
        if properties is not None:
            props = {k: v for k, v in props.items() if k in properties}
        return {"id": obj["id"], "properties": {**props, "hs_object_id": obj["id"]}, "createdAt": STAMP,
                "updatedAt": STAMP, "archived": False}

    def _matches(self, obj: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
        props = obj["properties"]
        for group in groups:
            ok = True
            for f in group.get("filters", []):
                value = props.get(f["propertyName"])
                if f["propertyName"] == "hs_object_id":
                    value = obj["id"]
                want = str(f.get("value", ""))
                op = f["operator"]
                if op == "EQ":
                    ok = ok and value is not None and value.lower() == want.lower()
                elif op == "CONTAINS_TOKEN":
                    ok = ok and value is not None and want in value.split()
                elif op == "IN":
                    ok = ok and value in f.get("values", [])
                else:
                    ok = False
            if ok:
                return True
        return False

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        used = set((body or {}).get("properties") or {}) if isinstance((body or {}).get("properties"), dict) else set()
        for group in (body or {}).get("filterGroups") or []:
            used |= {f["propertyName"] for f in group.get("filters", [])}
        unknown = sorted(used - self.known_properties - {"hs_object_id"}) if self.known_properties is not None else []
        if unknown:
            errors = [{"isValid": False, "message": f'Property "{n}" does not exist', "error": "PROPERTY_DOESNT_EXIST",
                       "name": n} for n in unknown]
            return 400, {"status": "error", "category": "VALIDATION_ERROR",
                         "message": f"Property values were not valid: {json.dumps(errors)}"}
        m = re.fullmatch(r"/crm/v3/objects/(\w+)/search", path)
        if m and method == "POST":
            kind = m.group(1)
            found = [o for o in self.objects[kind].values()
                     if o["id"] not in self.unsearchable and self._matches(o, body.get("filterGroups", []))]
            limit = int(body.get("limit") or 10)
            return 200, {"total": len(found), "results": [self._obj(kind, o) for o in found[:limit]]}
        m = re.fullmatch(r"/crm/v3/objects/(\w+)/batch/read", path)
        if m and method == "POST":
            kind = m.group(1)
            results = [self._obj(kind, self.objects[kind][i["id"]], body.get("properties"))
                       for i in body.get("inputs", []) if i["id"] in self.objects[kind]]
            return 200, {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
        m = re.fullmatch(r"/crm/v3/objects/(\w+)", path)
        if m and method == "POST":
            kind = m.group(1)
            props = body.get("properties", {})
            if kind == "contacts" and props.get("email"):
                for o in self.objects[kind].values():
                    if o["properties"].get("email", "").lower() == props["email"].lower():
                        return 409, {"status": "error", "category": "CONFLICT",
                                     "message": f"Contact already exists. Existing ID: {o['id']}"}
            oid = self.add(kind, props)
            for a in body.get("associations") or []:
                self.associate(kind, oid, "contacts", str(a["to"]["id"]))
            return 201, self._obj(kind, self.objects[kind][oid])
        m = re.fullmatch(r"/crm/v3/objects/(\w+)/(\w+)", path)
        if m:
            kind, oid = m.groups()
            obj = self.objects.get(kind, {}).get(oid)
            if obj is None:
                return 404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "resource not found"}
            if method == "PATCH":
                obj["properties"].update({k: str(v) for k, v in body.get("properties", {}).items()})
            return 200, self._obj(kind, obj)
        if path.rstrip("/") == "/crm/v3/owners" and method == "GET":
            email = (query.get("email") or [None])[0]
            found = [o for o in self.owners if email is None or o["email"] == email]
            return 200, {"results": [{**o, "type": "PERSON", "createdAt": STAMP, "updatedAt": STAMP, "archived": False}
                                     for o in found]}
        m = re.fullmatch(r"/crm/v4/objects/(\w+)/(\w+)/associations/(\w+)", path)
        if m and method == "GET":
            ids = self.associations.get(m.groups(), [])
            return 200, {"results": [{"toObjectId": int(i), "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": 4, "label": None}]} for i in ids]}
        return 404, {"status": "error", "message": f"no route {method} {path}"}


def _handler(fake: FakeHubSpot, clock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            auth = self.headers.get("Authorization", "")
            fake.requests.append({"method": self.command, "path": url.path, "body": body, "auth": auth,
                                  "at": clock() if clock else datetime.now(UTC)})
            headers: dict[str, str] = {}
            fault = fake._fault(self.command, url.path)
            if fault:
                status, headers, reply = fault
            elif auth != f"Bearer {fake.token}":
                status, reply = 401, {"status": "error", "category": "INVALID_AUTHENTICATION",
                                      "message": "Authentication credentials not found."}
            else:
                status, reply = fake.handle(self.command, url.path, parse_qs(url.query), body)
            if fake.kill_after and fake.kill_after[0] == f"{self.command} {url.path}" and status < 300:
                os.kill(fake.kill_after[1], signal.SIGKILL)
                fake.kill_after = None
                return
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler


@contextmanager
def serve(token: str, clock=None) -> Iterator[tuple[FakeHubSpot, str]]:
    """Run a fake HubSpot on 127.0.0.1 (a free port); yields it and its base URL."""
    fake = FakeHubSpot(token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake, clock))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
