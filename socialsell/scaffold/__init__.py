"""``socialsell plugin new``: a plugin package to start from, for each kind of plugin.

The files come from ``templates/common`` and ``templates/<kind>``, each named ``*.tmpl`` so no
tool (ruff, pytest, setuptools) takes them for the project's own code; ``{{name}}``-style tokens
are replaced (a fixed list, so code with braces in it is left alone), ``__module__`` in a path
becomes the package's name and ``.tmpl`` is dropped. What is generated passes its own tests as written.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from socialsell.errors import UsageError

TEMPLATES = Path(__file__).parent / "templates"
KINDS = {
    "channel": "a channel: publish posts and read engagements on a network",
    "scorer": "a scorer: add points to a contact's lead score",
    "router": "a router: choose the rep who owns a new follow-up",
    "notifier": "a notifier: tell people about new and overdue follow-ups",
    "crm": "a CRM sync: send contacts, their tasks and notes to a CRM through the outbox",
}
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Names:
    """How one plugin is called in each place."""

    name: str  # the entry point, and a channel's type name: "mastodon"
    kind: str

    @property
    def module(self) -> str:
        return f"socialsell_{self.name}"

    @property
    def dist(self) -> str:
        return f"socialsell-{self.name.replace('_', '-')}"

    @property
    def cls(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    def tokens(self) -> dict[str, str]:
        description = f"socialsell plugin {self.name}: {KINDS[self.kind]}."
        return {"{{name}}": self.name, "{{module}}": self.module, "{{dist}}": self.dist, "{{Class}}": self.cls,
                "{{NAME_ENV}}": self.name.upper(), "{{kind}}": self.kind, "{{description}}": description}


def check_name(name: str) -> str:
    """The plugin's name, or a UsageError saying what a name may be."""
    if not NAME.fullmatch(name) or keyword.iskeyword(name):
        raise UsageError(f"plugin name {name!r}: use lower-case letters, digits and _ (a letter first, at most 40), e.g. mastodon")
    taken = {ep.name for ep in entry_points(group="socialsell")}
    if name in taken:
        raise UsageError(f"plugin name {name!r} is taken by an installed plugin (installed: {', '.join(sorted(taken))})")
    return name


def generate(name: str, kind: str, parent: Path) -> tuple[Path, list[Path]]:
    """Write the package for plugin ``name`` of ``kind`` under ``parent``; the folder and its files."""
    if kind not in KINDS:
        raise UsageError(f"--kind {kind!r}: one of {', '.join(KINDS)}")
    names = Names(check_name(name), kind)
    target = parent / names.dist
    if target.exists():
        raise UsageError(f"{target} already exists: choose another name or --dir")
    tokens = names.tokens()
    files: list[tuple[Path, str]] = []
    for source_dir in (TEMPLATES / "common", TEMPLATES / kind):
        for source in sorted(p for p in source_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            relative = str(source.relative_to(source_dir)).replace("__module__", names.module).removesuffix(".tmpl")
            text = source.read_text(encoding="utf-8")
            for token, value in tokens.items():
                relative = relative.replace(token, value)
                text = text.replace(token, value)
            files.append((target / relative, text))
    written = []
    for path, text in files:  # everything was read and rendered before the first write
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return target, written
