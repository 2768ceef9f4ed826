"""Brand post templates: TOML front matter and Jinja2 in the sandboxed environment.

A template file ``templates/NAME.j2``::

    +++
    title = "Product launch"
    channels = ["x", "linkedin"]          # default channel types or account names
    hashtags = ["acme"]
    link = "https://acme.example/launch"
    requires = ["product"]                 # variables that must be given
    campaign = "Winter Launch"             # the campaign, unless --campaign says otherwise
    utm = "launch"                         # utm_campaign when there is no campaign; false: no tagging
    +++
    {% block x %}{{ product }} is here. {{ link }} {{ hashtags }}{% endblock %}
    {% block linkedin %}A longer story about {{ product }}...{% endblock %}
    {% block default %}{{ product }} is here: {{ link }}{% endblock %}

The block named after the account's channel type is used (then the account name, then
``default``; a template without blocks is one body for every channel). Rendering is strict:
a missing variable is an error, never an empty string, and the sandbox refuses access to
Python internals.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from socialsell.errors import UsageError

FRONT_MATTER = re.compile(r"\A\+\+\+\s*\n(.*?)\n\+\+\+\s*\n", re.S)


@dataclass
class Template:
    name: str
    path: Path
    source: str
    meta: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1  # line of the file where the body starts

    @property
    def title(self) -> str:
        return self.meta.get("title", self.name)

    @property
    def requires(self) -> list[str]:
        return list(self.meta.get("requires", []))


def template_dirs(workspace_root: Path | None) -> list[Path]:
    dirs = []
    if workspace_root is not None:
        dirs.append(workspace_root / "templates")
    dirs.append(Path(str(files("socialsell.shipped_templates"))))
    return dirs


def list_templates(workspace_root: Path | None) -> list[Template]:
    seen: dict[str, Template] = {}
    for d in template_dirs(workspace_root):
        if d.is_dir():
            for path in sorted(d.glob("*.j2")):
                if path.stem not in seen:
                    seen[path.stem] = load_template_file(path)
    return list(seen.values())


#: a template's name: a file name in templates/, never a path (``../../outside`` is refused)
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
#: the largest template file read: a brand post template is a few hundred bytes
MAX_TEMPLATE_BYTES = 256 * 1024


def find_template(name: str, workspace_root: Path | None) -> Template:
    if not TEMPLATE_NAME.fullmatch(name) or ".." in name:
        raise UsageError(f"template name {name[:60]!r}: use the name of a file in templates/ "
                         "(letters, digits, '-', '_', '.'; no folders)")
    for d in template_dirs(workspace_root):
        path = d / f"{name}.j2"
        if path.is_file() and path.resolve().parent == d.resolve():
            return load_template_file(path)
    known = ", ".join(t.name for t in list_templates(workspace_root)) or "none"
    raise UsageError(f"unknown template {name!r} (available: {known})")


def load_template_file(path: Path) -> Template:
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            raise UsageError(f"template {path.name}: the file is over {MAX_TEMPLATE_BYTES // 1024} KB")
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"template {path.name}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise UsageError(f"template {path.name}: cannot read it ({e.strerror})") from None
    m = FRONT_MATTER.match(source)
    meta: dict[str, Any] = {}
    body, body_line = source, 1
    if m:
        try:
            meta = tomllib.loads(m.group(1))
        except tomllib.TOMLDecodeError as e:
            raise UsageError(f"template {path.name}: front matter is not valid TOML ({e})") from None
        body = source[m.end():]
        body_line = source[: m.end()].count("\n") + 1
        check_front_matter(path, meta)
    elif source.startswith("+++"):
        raise UsageError(f"template {path.name}: the front matter has no closing +++ line")
    return Template(name=path.stem, path=path, source=source, meta=meta, body=body, body_line=body_line)


#: the keys of the front matter socialsell reads, and the type each must have (the others are
#: default values for the template's variables, of any type)
FRONT_MATTER_KEYS: dict[str, tuple[str, Any]] = {
    "title": ("a string", str),
    "channels": ("a list of strings", list),
    "hashtags": ("a list of strings", list),
    "requires": ("a list of strings", list),
    "link": ("a string", str),
    "campaign": ("a string", str),
    "utm": ("a string or false", (str, bool)),
}


def check_front_matter(path: Path, meta: dict[str, Any]) -> None:
    """Refuse front matter keys of the wrong type, naming the file and the key."""
    for key, (expected, kind) in FRONT_MATTER_KEYS.items():
        if key not in meta:
            continue
        value = meta[key]
        ok = isinstance(value, kind) and not (kind is str and isinstance(value, bool))
        if kind is list and ok:
            ok = all(isinstance(v, str) for v in value)
        if key == "utm" and value is True:
            ok = False
        if not ok:
            raise UsageError(f"template {path.name}: front matter {key} must be {expected}, not {value!r}"[:300])


def _environment():
    # jinja2 (and the budget built on it) is imported when a template is rendered, like before:
    # read-only commands never pay for it
    from jinja2 import StrictUndefined  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load jinja2; kept off its path

    from socialsell.marketing.template_budget import BudgetedEnvironment  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.marketing.template_budget; kept off its path

    env = BudgetedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
                              finalize=_printable)
    env.filters["hashtag"] = lambda s: "#" + re.sub(r"\W+", "", str(s))
    return env


def _printable(value: Any) -> Any:
    """Only data may be printed: a function, method or class in the output means the template
    reached for machinery (``{{ ''.format_map }}``), which is refused like any internal."""

    from jinja2 import Undefined  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load jinja2; kept off its path
    from jinja2.exceptions import SecurityError  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load jinja2.exceptions; kept off its path

    if value is None:  # would print "None" in a brand post
        raise ValueError("a value printed by the template is empty (None)")
    if isinstance(value, Undefined | str | int | float | list | tuple | dict | date):
        return value
    raise SecurityError(f"printing {type(value).__name__} objects is not allowed, only text and numbers")


def render(template: Template, variables: dict[str, Any], *, channel_type: str, account: str | None = None) -> str:
    """The text ``template`` produces for one channel. Raises UsageError, never half-renders."""
    from jinja2 import TemplateSyntaxError, UndefinedError  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load jinja2; kept off its path
    from jinja2.exceptions import SecurityError  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load jinja2.exceptions; kept off its path

    from socialsell.marketing.template_budget import BudgetExceeded  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.marketing.template_budget; kept off its path

    missing = [v for v in template.requires if v not in variables]
    if missing:
        raise UsageError(f"template {template.name}: missing variable {', '.join(missing)} (pass --var {missing[0]}=...)")
    env = _environment()
    try:
        compiled = env.from_string(template.body)
    except TemplateSyntaxError as e:
        line = (e.lineno or 1) + template.body_line - 1
        raise UsageError(f"template {template.name}: {e.message} (line {line})") from None
    except RecursionError:
        raise UsageError(f"template {template.name}: nested too deeply to compile") from None
    hashtags = variables.get("hashtags", template.meta.get("hashtags", []))
    context = {
        "channel": channel_type,
        "account": account,
        "title": template.title,
        **{k: v for k, v in template.meta.items() if k not in ("requires", "channels")},
        **variables,
    }
    context["hashtags"] = " ".join("#" + h.lstrip("#") for h in hashtags) if isinstance(hashtags, list) else hashtags
    try:
        block = None
        for name in (channel_type, account, "default"):
            if name and name in compiled.blocks:
                block = compiled.blocks[name]
                break
        if block is None and compiled.blocks:
            raise UsageError(f"template {template.name}: no block for channel {channel_type!r} and no default block")
        chunks = block(compiled.new_context(context)) if block is not None else compiled.generate(context)
        text = env.budget.collect(chunks)
    except BudgetExceeded as e:  # (empty when the watchdog's timeout landed at the very end)
        raise UsageError(f"template {template.name}: {e or 'rendering took too long'}") from None
    except SecurityError as e:
        raise UsageError(f"template {template.name}: refused by the sandbox: {e}") from None
    except UndefinedError as e:
        message = e.message or "undefined value"
        if "unsafe" in message or "__" in message:  # the sandbox hides internals as undefined
            raise UsageError(f"template {template.name}: refused by the sandbox: {message}") from None
        raise UsageError(f"template {template.name}: {message} (pass it with --var)") from None
    except TemplateSyntaxError as e:
        raise UsageError(f"template {template.name}: {e.message} (line {(e.lineno or 1) + template.body_line - 1})") from None
    except UsageError:
        raise
    except Exception as e:  # a filter on the wrong type, a division by zero: the template's fault
        raise UsageError(f"template {template.name}: cannot render ({type(e).__name__}: {e})") from None
    return _tidy(text)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out)
