"""What a job registered through ``register_jobs`` receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


@dataclass
class JobContext:
    """What a job receives: the app, this worker's id, and the time of the run.

    :ivar app: the running application (``app.now()``, ``app.channel(name)``, ``app.hook``...).
    :ivar worker: this worker's id (``host:pid:random``), to name who claimed a piece of work.
    :ivar now: the time of this run (aware, UTC): use it rather than reading the clock again.
    """

    app: App
    worker: str
    now: datetime
