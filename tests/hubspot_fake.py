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

from socialsell.clock import utcnow

STAMP = "2026-11-23T08:00:00.000Z"
#: properties HubSpot has without anyone creating them (those the sync uses), per object type
BUILT_IN = {
    "contacts": {"email", "firstname", "lastname", "company", "city", "twitterhandle", "lifecyclestage",
                 "hubspot_owner_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"},
    "tasks": {"hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority", "hs_task_type", "hs_timestamp",
              "hubspot_owner_id", "hs_lastmodifieddate", "createdate"},
    "notes": {"hs_note_body", "hs_timestamp", "hs_lastmodifieddate", "createdate"},
    "deals": {"dealname", "amount", "closedate", "dealstage", "pipeline", "createdate", "hs_is_closed_won",
              "hs_is_closed", "deal_currency_code", "hs_lastmodifieddate"},
}
#: the custom properties `socialsell crm setup` creates
CUSTOM = {"contacts": {"socialsell_contact_id", "socialsell_handles", "socialsell_profile_urls"},
          "tasks": {"socialsell_key"}, "notes": {"socialsell_key"}}
DATES = {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate", "hs_timestamp"}
#: the search API's limits (developers.hubspot.com, CRM search, "Limitations"; changelog 2024-08)
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS, MAX_PAGE, MAX_RESULTS = 5, 10, 25, 200, 10_000


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _ms(value: Any) -> int | None:
    """A HubSpot date value (milliseconds or ISO 8601) in milliseconds."""
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _bad(message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"status": "error", "category": "VALIDATION_ERROR", "message": message}


class FakeHubSpot:
    def __init__(self, token: str, clock=None) -> None:
        self.token = token
        # HubSpot's own clock (createdate, hs_lastmodifieddate): a server's time is not ours, so the
        # fake keeps its own unless a test or `demo_crm --now` pins it; socialsell never compares
        # it with its clock except through the search cursor, which starts 10 minutes early
        self.clock = clock or utcnow
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"contacts": {}, "tasks": {}, "notes": {}, "deals": {}}
        self.associations: dict[tuple[str, str, str], list[str]] = {}  # (from type, id, to type) -> ids
        self.owners: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.faults: list[tuple[int, dict[str, str], dict[str, Any], str | None]] = []
        #: ("POST /crm/v3/objects/contacts", pid): after applying that request, SIGKILL the client
        #: before it can read the answer (a crash between HubSpot's call and socialsell's commit)
        self.kill_after: tuple[str, int] | None = None
        self.unsearchable: set[str] = set()  # ids search does not show yet (HubSpot's index lags)
        #: the properties each object type has; with ``strict``, a property outside them is
        #: refused like HubSpot does (400 PROPERTY_DOESNT_EXIST)
        self.properties: dict[str, set[str]] = {k: BUILT_IN[k] | CUSTOM.get(k, set()) for k in BUILT_IN}
        self.strict = False
        self.groups: dict[str, set[str]] = {k: set() for k in BUILT_IN}
        self._next = 100
        self._lock = threading.Lock()

    # -- set-up helpers for tests --------------------------------------------------------

    def without_custom_properties(self) -> None:
        """A HubSpot account where nobody created socialsell's properties (and that checks)."""
        self.properties = {k: set(v) for k, v in BUILT_IN.items()}
        self.strict = True

    def add(self, kind: str, properties: dict[str, Any]) -> str:
        with self._lock:
            self._next += 1
            oid = str(self._next)
        now = _iso(self.clock())
        props = {"createdate": now, **{k: str(v) for k, v in properties.items()}, "hs_lastmodifieddate": now}
        if kind == "contacts":
            props["lastmodifieddate"] = now
        self.objects[kind][oid] = {"id": oid, "properties": props}
        return oid

    def change(self, kind: str, oid: str, properties: dict[str, Any]) -> None:
        """Someone edits the object in HubSpot (its modification time moves)."""
        now = _iso(self.clock())
        self.objects[kind][oid]["properties"].update({k: str(v) for k, v in properties.items()},
                                                     hs_lastmodifieddate=now)
        if kind == "contacts":
            self.objects[kind][oid]["properties"]["lastmodifieddate"] = now

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

    def _value(self, obj: dict[str, Any], name: str) -> str | None:
        return obj["id"] if name == "hs_object_id" else obj["properties"].get(name)

    def _test(self, obj: dict[str, Any], f: dict[str, Any]) -> bool:
        name, op = f["propertyName"], f["operator"]
        value = self._value(obj, name)
        if op == "HAS_PROPERTY":
            return value not in (None, "")
        if op == "NOT_HAS_PROPERTY":
            return value in (None, "")
        if value is None:
            return op == "NEQ"
        want = str(f.get("value", ""))
        if op == "EQ":
            return value.lower() == want.lower()
        if op == "NEQ":
            return value.lower() != want.lower()
        if op == "CONTAINS_TOKEN":
            return want in value.split()
        if op == "IN":
            return value.lower() in [str(v).lower() for v in f.get("values", [])]
        if op in ("GT", "GTE", "LT", "LTE"):
            if name in DATES:
                have, limit = _ms(value), _ms(want)
            else:
                try:
                    have, limit = float(value), float(want)
                except ValueError:
                    have, limit = value, want  # type: ignore[assignment]
            if have is None or limit is None:
                return False
            return {"GT": have > limit, "GTE": have >= limit, "LT": have < limit, "LTE": have <= limit}[op]
        raise ValueError(op)

    def _matches(self, obj: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
        if not groups:
            return True
        return any(all(self._test(obj, f) for f in group.get("filters", [])) for group in groups)

    def _search(self, kind: str, body: dict[str, Any]) -> tuple[int, Any]:
        """CRM search as HubSpot answers it: filter groups OR'd, filters AND'd, one sort, pages of at
        most 200 with ``paging.next.after`` (an offset), and nothing past the 10,000th result."""
        groups = body.get("filterGroups") or []
        if len(groups) > MAX_GROUPS or any(len(g.get("filters", [])) > MAX_FILTERS_PER_GROUP for g in groups) \
                or sum(len(g.get("filters", [])) for g in groups) > MAX_FILTERS:
            return _bad("too many filters")
        ops = {"EQ", "NEQ", "GT", "GTE", "LT", "LTE", "IN", "CONTAINS_TOKEN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"}
        if any(f.get("operator") not in ops for g in groups for f in g.get("filters", [])):
            return _bad("unknown operator")
        sorts = body.get("sorts") or []
        if len(sorts) > 1:
            return _bad("only one sort is allowed")
        limit = int(body.get("limit") or 10)
        if not 0 < limit <= MAX_PAGE:
            return _bad(f"limit must be between 1 and {MAX_PAGE}")
        after = int(body.get("after") or 0)
        if after + limit > MAX_RESULTS:
            return _bad(f"paging beyond {MAX_RESULTS} results is not allowed")
        found = [o for o in self.objects[kind].values() if o["id"] not in self.unsearchable and self._matches(o, groups)]
        found.sort(key=lambda o: int(o["id"]))
        if sorts:
            name = sorts[0].get("propertyName")
            def key(o):
                v = self._value(o, name)
                return (v is None, (_ms(v) if name in DATES else v) if v is not None else 0)
            found.sort(key=key, reverse=sorts[0].get("direction") == "DESCENDING")
        page = found[after:after + limit]
        reply: dict[str, Any] = {"total": len(found), "results": [self._obj(kind, o, body.get("properties")) for o in page]}
        if after + limit < len(found):
            reply["paging"] = {"next": {"after": str(after + limit), "link": f"?after={after + limit}"}}
        return 200, reply

    def _property(self, kind: str, name: str) -> dict[str, Any]:
        return {"name": name, "label": name, "type": "string", "fieldType": "text", "description": "",
                "groupName": "socialsell" if name in CUSTOM.get(kind, set()) else "information", "options": [],
                "createdAt": STAMP, "updatedAt": STAMP, "archived": False}

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        m = re.fullmatch(r"/crm/v3/objects/(\w+)(?:/.*)?", path)
        kind = m.group(1) if m else None
        if self.strict and kind in self.properties and isinstance(body, dict):
            used = set(body.get("properties") or {}) if isinstance(body.get("properties"), dict) else set()
            for group in body.get("filterGroups") or []:
                used |= {f["propertyName"] for f in group.get("filters", [])}
            unknown = sorted(used - self.properties[kind] - {"hs_object_id"})
            if unknown:
                errors = [{"isValid": False, "message": f'Property "{n}" does not exist', "error": "PROPERTY_DOESNT_EXIST",
                           "name": n} for n in unknown]
                return 400, {"status": "error", "category": "VALIDATION_ERROR",
                             "message": f"Property values were not valid: {json.dumps(errors)}"}
        m = re.fullmatch(r"/crm/v3/properties/(\w+)/groups", path)
        if m and method == "POST":
            kind = m.group(1)
            if body["name"] in self.groups[kind]:
                return 409, {"status": "error", "category": "OBJECT_ALREADY_EXISTS",
                             "message": f"A property group named '{body['name']}' already exists."}
            self.groups[kind].add(body["name"])
            return 201, {"name": body["name"], "label": body.get("label", ""), "displayOrder": -1, "archived": False}
        m = re.fullmatch(r"/crm/v3/properties/(\w+)", path)
        if m:
            kind = m.group(1)
            if method == "GET":
                return 200, {"results": [self._property(kind, n) for n in sorted(self.properties[kind])]}
            if body["name"] in self.properties[kind]:
                return 409, {"status": "error", "category": "OBJECT_ALREADY_EXISTS",
                             "message": f"Property named '{body['name']}' already exists."}
            self.properties[kind].add(body["name"])
            return 201, self._property(kind, body["name"])
        m = re.fullmatch(r"/crm/v3/objects/(\w+)/search", path)
        if m and method == "POST":
            return self._search(m.group(1), body)
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
                self.change(kind, oid, body.get("properties", {}))
            return 200, self._obj(kind, obj)
        if path.rstrip("/") == "/crm/v3/owners" and method == "GET":
            email = (query.get("email") or [None])[0]
            found = [o for o in self.owners if email is None or o["email"] == email]
            return 200, {"results": [{**o, "type": "PERSON", "createdAt": STAMP, "updatedAt": STAMP, "archived": False}
                                     for o in found]}
        m = re.fullmatch(r"/crm/v4/objects/(\w+)/(\w+)/associations/default/(\w+)/(\w+)", path)
        if m and method == "PUT":
            from_kind, from_id, to_kind, to_id = m.groups()
            if to_id not in self.associations.get((from_kind, from_id, to_kind), []):
                self.associate(from_kind, from_id, to_kind, to_id)
            return 200, {"status": "COMPLETE", "startedAt": STAMP, "completedAt": STAMP, "results": [
                {"from": {"id": from_id}, "to": {"id": to_id},
                 "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}}]}
        m = re.fullmatch(r"/crm/v4/objects/(\w+)/(\w+)/associations/(\w+)/(\w+)", path)
        if m and method == "DELETE":
            from_kind, from_id, to_kind, to_id = m.groups()
            for key, other in (((from_kind, from_id, to_kind), to_id), ((to_kind, to_id, from_kind), from_id)):
                if other in self.associations.get(key, []):
                    self.associations[key].remove(other)
            return 204, None
        m = re.fullmatch(r"/crm/v4/associations/(\w+)/(\w+)/batch/read", path)
        if m and method == "POST":
            from_kind, to_kind = m.groups()
            if len(body.get("inputs", [])) > 1000:
                return _bad("at most 1000 inputs")
            results = [{"from": {"id": i["id"]}, "to": [
                {"toObjectId": int(x), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}
                for x in self.associations[(from_kind, i["id"], to_kind)]]}
                for i in body.get("inputs", []) if self.associations.get((from_kind, i["id"], to_kind))]
            return 200, {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
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
                                  "at": fake.clock()})
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
            data = json.dumps(reply).encode() if reply is not None else b""
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
    fake = FakeHubSpot(token, clock)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake, clock))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
