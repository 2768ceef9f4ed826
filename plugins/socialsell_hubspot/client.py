"""HubSpot through its official client (``hubspot-api-client``), and its errors as ours.

Every call goes through :meth:`HubSpot._call`, which turns the client's ``ApiException`` (one
class per API package, with ``.status``, ``.headers``, ``.body``) and urllib3's network errors
into :class:`RateLimited`, :class:`AuthFailed`, :class:`Transient` or :class:`Refused`, with
messages built from the status and HubSpot's own ``message``: never the request, so never the
token. The client is imported here, and this module only when a sync runs (docs/crm.md).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import hubspot
import urllib3
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.contacts import PublicObjectSearchRequest as ContactSearch
from hubspot.crm.contacts import SimplePublicObjectInput as ContactInput
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate
from hubspot.crm.deals import BatchReadInputSimplePublicObjectId
from hubspot.crm.deals import PublicObjectSearchRequest as DealSearch
from hubspot.crm.objects import notes as notes_api
from hubspot.crm.objects import tasks as tasks_api
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

TIMEOUT = 20  # seconds per request: a hung HubSpot must not hold the sync's lease forever
#: HubSpot's default association types (developers.hubspot.com, associations v4)
TASK_TO_CONTACT = 204
NOTE_TO_CONTACT = 202
DEAL_PROPERTIES = ["dealname", "amount", "closedate", "dealstage", "pipeline", "createdate",
                   "hs_is_closed_won", "hs_is_closed", "deal_currency_code", "hs_lastmodifieddate"]
#: the search API's limits (developers.hubspot.com, CRM search, "Limitations"): at most 200
#: results a page, and no page past the 10,000th result (the query starts again from there)
SEARCH_PAGE = 200
SEARCH_MAX = 10_000
BATCH = 100  # ids per batch request
CONTACT_PROPERTIES = ["email", "firstname", "lastname", "lifecyclestage", "twitterhandle",
                      "socialsell_contact_id", "socialsell_profile_urls"]


class HubSpotError(Exception):
    """A HubSpot call that failed; ``str()`` is one line without secrets."""


class RateLimited(HubSpotError):
    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class AuthFailed(HubSpotError):
    """401/403: the token is missing, revoked or lacks a scope."""


class Transient(HubSpotError):
    """5xx, a timeout or a dropped connection: the request may or may not have been applied."""


class MissingProperty(HubSpotError):
    """400 PROPERTY_DOESNT_EXIST: a custom property the sync needs was never created (docs/crm.md)."""


class Refused(HubSpotError):
    """Another 4xx: HubSpot refused this object; retrying the same request will not help."""


class NotFound(Refused):
    """404: the stored id no longer exists in HubSpot (deleted or merged there)."""


class Conflict(Refused):
    """409: a contact with this email exists (HubSpot names it; its search may not show it yet)."""

    def __init__(self, message: str, existing_id: str | None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for k, v in dict(headers).items():
        if k.lower() == name.lower():
            return v
    return None


def retry_at(status_headers: Any, body: dict[str, Any], now: datetime, tz) -> datetime:
    """When HubSpot allows the next call after a 429.

    ``Retry-After`` (seconds) when sent; the daily policy resets at midnight (in the account's
    time zone, taken as the workspace's); the per-interval policy after
    ``X-HubSpot-RateLimit-Interval-Milliseconds`` (10 s when absent).
    """
    retry_after = _header(status_headers, "Retry-After")
    if retry_after and retry_after.strip().isdigit():
        return now + timedelta(seconds=int(retry_after))
    if str(body.get("policyName", "")).upper() == "DAILY":
        local = now.astimezone(tz)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.astimezone(now.tzinfo)
    interval = _header(status_headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
    ms = int(interval) if interval and interval.strip().isdigit() else 10_000
    return now + timedelta(milliseconds=ms)


class HubSpot:
    """The few HubSpot calls the sync needs, on one ``hubspot.Client``."""

    def __init__(self, token: str, host: str | None, now: datetime, tz) -> None:
        kwargs: dict[str, Any] = {"access_token": token,
                                  # retries are the outbox's (backoff in the database); a hidden
                                  # urllib3 retry of a POST could create an object twice
                                  "retry": urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0)}
        if host:
            kwargs["host"] = host.rstrip("/")
        self.client = hubspot.Client.create(**kwargs)
        self._secret = token
        self.now = now
        self.tz = tz
        self.requests = 0

    # -- errors ------------------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text

    def _call(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        try:
            return fn(*args, _request_timeout=TIMEOUT, **kwargs)
        except urllib3.exceptions.HTTPError as e:
            raise Transient(self._clean(f"HubSpot {what}: network error ({type(e).__name__})")) from None
        except Exception as e:
            status = getattr(e, "status", None)
            if not isinstance(status, int) or not type(e).__module__.startswith("hubspot."):
                raise
            try:
                body = json.loads(e.body) if getattr(e, "body", None) else {}
            except (ValueError, TypeError):
                body = {}
            body = body if isinstance(body, dict) else {}
            detail = str(body.get("message") or getattr(e, "reason", "") or "").splitlines()
            message = self._clean(f"HubSpot {what}: {status} {detail[0] if detail else ''}".strip())
            raw = e.body.decode(errors="replace") if isinstance(getattr(e, "body", None), bytes) else str(getattr(e, "body", "") or "")
            if status == 400 and "PROPERTY_DOESNT_EXIST" in raw:
                names = sorted(set(re.findall(r'\\?"name\\?"\s*:\s*\\?"([\w.-]+)', raw)))
                raise MissingProperty(self._clean(f"HubSpot {what}: 400 no such property {', '.join(names) or '(unnamed)'}: "
                                                  "run `socialsell crm setup` (docs/crm.md)")) from None
            if status == 429:
                raise RateLimited(message, retry_at(getattr(e, "headers", None), body, self.now, self.tz)) from None
            if status in (401, 403):
                raise AuthFailed(message) from None
            if status == 404:
                raise NotFound(message) from None
            if status == 409:
                found = re.search(r"Existing ID: (\d+)", str(body.get("message") or ""))
                raise Conflict(message, found.group(1) if found else None) from None
            if status >= 500:
                raise Transient(message) from None
            raise Refused(message) from None

    # -- contacts ----------------------------------------------------------------------------

    def find_contact(self, groups: list[list[dict[str, str]]]) -> dict[str, Any] | None:
        """The first contact matching any group of filters (groups OR, filters AND)."""
        request = ContactSearch(filter_groups=[{"filters": f} for f in groups[:5]],
                                properties=CONTACT_PROPERTIES, limit=1)
        page = self._call("contact search", self.client.crm.contacts.search_api.do_search,
                          public_object_search_request=request)
        return _plain(page.results[0]) if page.results else None

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        obj = self._call("contact read", self.client.crm.contacts.basic_api.get_by_id, contact_id,
                         properties=CONTACT_PROPERTIES)
        return _plain(obj)

    def create_contact(self, properties: dict[str, str]) -> str:
        obj = self._call("contact create", self.client.crm.contacts.basic_api.create,
                         simple_public_object_input_for_create=ContactCreate(properties=properties))
        return str(obj.id)

    def update_contact(self, contact_id: str, properties: dict[str, str]) -> str:
        obj = self._call("contact update", self.client.crm.contacts.basic_api.update, contact_id,
                         simple_public_object_input=ContactInput(properties=properties))
        return str(obj.id)

    # -- tasks and notes ---------------------------------------------------------------------

    def _api(self, kind: str):
        return self.client.crm.objects.tasks if kind == "task" else self.client.crm.objects.notes

    def find_by_key(self, kind: str, key: str) -> str | None:
        """The task or note carrying ``socialsell_key = key`` (reconcile after an unknown outcome)."""
        models = tasks_api if kind == "task" else notes_api
        request = models.PublicObjectSearchRequest(
            filter_groups=[{"filters": [{"propertyName": "socialsell_key", "operator": "EQ", "value": key}]}],
            properties=["socialsell_key"], limit=1)
        page = self._call(f"{kind} search", self._api(kind).search_api.do_search, public_object_search_request=request)
        return str(page.results[0].id) if page.results else None

    def create_engagement(self, kind: str, properties: dict[str, str], contact_id: str) -> str:
        """Create a task or note on a contact's timeline (associated in the same request)."""
        models = tasks_api if kind == "task" else notes_api
        association = models.PublicAssociationsForObject(
            to=models.PublicObjectId(id=contact_id),
            types=[models.AssociationSpec(association_category="HUBSPOT_DEFINED",
                                          association_type_id=TASK_TO_CONTACT if kind == "task" else NOTE_TO_CONTACT)])
        obj = self._call(f"{kind} create", self._api(kind).basic_api.create,
                         simple_public_object_input_for_create=models.SimplePublicObjectInputForCreate(
                             properties=properties, associations=[association]))
        return str(obj.id)

    def update_engagement(self, kind: str, object_id: str, properties: dict[str, str]) -> str:
        models = tasks_api if kind == "task" else notes_api
        obj = self._call(f"{kind} update", self._api(kind).basic_api.update, object_id,
                         simple_public_object_input=models.SimplePublicObjectInput(properties=properties))
        return str(obj.id)

    # -- owners and deals --------------------------------------------------------------------

    def owner_id(self, email: str) -> str | None:
        page = self._call("owners", self.client.crm.owners.owners_api.get_page, email=email, limit=1)
        return str(page.results[0].id) if page.results else None

    def deals_modified_since(self, since_ms: int) -> Iterator[list[dict[str, Any]]]:
        """Pages of the deals modified at or after ``since_ms`` (HubSpot's clock), oldest change
        first. The search stops at 10,000 results, so past that the query starts again from the
        last modification time seen, with the same filter and sort."""
        after: str | None = None
        seen = 0  # results of this query so far (the 10,000 cap counts per query)
        while True:
            request = DealSearch(
                filter_groups=[{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE",
                                             "value": str(since_ms)}]}],
                sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                properties=DEAL_PROPERTIES, limit=SEARCH_PAGE, after=after)
            page = self._call("deal search", self.client.crm.deals.search_api.do_search,
                              public_object_search_request=request)
            results = [_plain(d) for d in page.results or []]
            seen += len(results)
            if results:
                yield results
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None:
                return
            if seen + SEARCH_PAGE > SEARCH_MAX:
                last = results[-1]["properties"].get("hs_lastmodifieddate") if results else None
                newer = _ms_of(last) if last else None
                if newer is None or newer <= since_ms:  # 10,000 deals changed in one millisecond: next pass
                    return
                since_ms, after, seen = newer, None, 0

    def deal_contacts(self, deal_ids: list[str]) -> dict[str, list[str]]:
        """Deal id -> its contacts' ids (associations v4, one batch request per 100 deals)."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(deal_ids), BATCH):
            batch = self._call("deal contacts", self.client.crm.associations.v4.batch_api.get_page, "deals", "contacts",
                               batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(
                                   inputs=[{"id": d} for d in deal_ids[i:i + BATCH]]))
            for r in batch.results or []:
                out[str(r._from.id)] = [str(x.to_object_id) for x in r.to or []]
        return out

    def associate(self, kind: str, object_id: str, contact_id: str) -> None:
        """Attach a task or note to a contact (HubSpot's default association; idempotent)."""
        self._call(f"{kind} associate", self.client.crm.associations.v4.basic_api.create_default,
                   f"{kind}s", object_id, "contacts", contact_id)

    def dissociate(self, kind: str, object_id: str, contact_id: str) -> None:
        """Detach a task or note from a contact (gone already: nothing to do)."""
        with contextlib.suppress(NotFound):
            self._call(f"{kind} dissociate", self.client.crm.associations.v4.basic_api.archive,
                       f"{kind}s", object_id, "contacts", contact_id)

    # -- custom properties (crm setup) -------------------------------------------------------

    def property_names(self, object_type: str) -> set[str]:
        page = self._call(f"{object_type} properties", self.client.crm.properties.core_api.get_all, object_type)
        return {p.name for p in page.results or []}

    def create_group(self, object_type: str, name: str, label: str) -> bool:
        """Create a property group; False when it exists already (409)."""
        try:
            self._call(f"{object_type} property group", self.client.crm.properties.groups_api.create, object_type,
                       property_group_create=PropertyGroupCreate(name=name, label=label))
        except Conflict:
            return False
        return True

    def create_property(self, object_type: str, name: str, label: str, group: str, description: str) -> bool:
        """Create a single-line text property; False when it exists already (409)."""
        try:
            self._call(f"{object_type} property {name}", self.client.crm.properties.core_api.create, object_type,
                       property_create=PropertyCreate(name=name, label=label, type="string", field_type="text",
                                                      group_name=group, description=description))
        except Conflict:
            return False
        return True

    def deals_of_contact(self, contact_id: str) -> list[dict[str, Any]]:
        page = self._call("contact deals", self.client.crm.associations.v4.basic_api.get_page,
                          "contacts", contact_id, "deals", limit=500)
        ids = [str(r.to_object_id) for r in page.results or []]
        if not ids:
            return []
        batch = self._call("deals read", self.client.crm.deals.batch_api.read,
                           batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
                               inputs=[{"id": i} for i in ids], properties=DEAL_PROPERTIES, properties_with_history=[]))
        return [_plain(d) for d in batch.results or []]


def _ms_of(value: str) -> int | None:
    """A HubSpot datetime (milliseconds, or ISO 8601 as search returns it) in milliseconds."""
    if value.isdigit():
        return int(value)
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _plain(obj: Any) -> dict[str, Any]:
    return {"id": str(obj.id), "properties": dict(obj.properties or {})}
