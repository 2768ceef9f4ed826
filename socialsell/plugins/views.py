"""Read-only views of the core's records, handed to event hooks.

A hook receives a view, never a table row: a view has a fixed, documented set of fields
(docs/plugins.md, "Event payloads"), so the database can change its columns without breaking a
plugin. A view reads both ways, ``task.owner`` and ``task["owner"]``, and is a ``Mapping``, so
``dict(task)`` gives a JSON-ready copy (times stay ``datetime``). It cannot be changed: a
notifier cannot alter what the next plugin sees.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar


class View(Mapping[str, Any]):
    """A frozen record with the documented ``FIELDS``; a field the core did not know is None."""

    FIELDS: ClassVar[tuple[str, ...]] = ()
    __slots__ = ("_data",)

    def __init__(self, row: Mapping[str, Any] | None = None, **values: Any):
        source = {**(row or {}), **values}
        object.__setattr__(self, "_data", {name: source.get(name) for name in self.FIELDS})

    @classmethod
    def of(cls, row: Mapping[str, Any] | View | None) -> View:
        """``row`` as this view (a view of the right type is returned as it is)."""
        return row if isinstance(row, cls) else cls(row)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r} (fields: {', '.join(self.FIELDS)})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._data.items() if v is not None)
        return f"{type(self).__name__}({shown})"


class PostView(View):
    """A queued or published post (one text, one or several channel accounts)."""

    FIELDS = ("id", "text", "link", "campaign_id", "author", "created_at")


class DeliveryView(View):
    """A post on one channel account: its state there and, once published, its remote id."""

    FIELDS = ("id", "post_id", "account", "status", "text", "remote_id", "remote_url", "published_at",
              "attempts", "error")


class EngagementView(View):
    """One stored engagement (a reaction by one person, see ``Engagement``)."""

    FIELDS = ("id", "account", "channel", "kind", "external_id", "contact_id", "task_id", "text", "url",
              "post_remote_id", "in_reply_to", "occurred_at", "points", "ignored")


class ContactView(View):
    """A person across channels: who they are, their stage, owner and score."""

    FIELDS = ("id", "display_name", "headline", "company", "location", "email", "stage", "owner",
              "score", "first_seen_at", "last_seen_at")


class TaskView(View):
    """A follow-up task: whose, how urgent, why, and (closed) its outcome."""

    FIELDS = ("id", "contact_id", "owner", "status", "priority", "score", "intent", "reason", "due_at",
              "created_at", "outcome", "amount", "closed_at")
