"""Files attached to posts (``post new --media``): what they are, and whether a channel takes them.

A file's type is read from its first bytes, not its name, so ``--media socialsell.toml`` or
``--media /dev/zero`` is refused at input instead of failing (or leaking) at publish time. Only
regular files are accepted: a device, a pipe or a folder never is.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from socialsell.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.plugins.channel import Channel, MediaFile

#: no channel takes a bigger file (LinkedIn videos go up to 200 MB)
MAX_MEDIA_BYTES = 200 * 1024 * 1024
#: the longest alternative text (``--alt``); X takes 1000 characters, Bluesky more
MAX_ALT_LENGTH = 1000


def with_alts(paths: Sequence[str], alts: Sequence[str]) -> list[MediaFile]:
    """``post new --media A --media B --alt "for A"``: each ``--alt`` goes with the ``--media``
    at the same place; a file without one has none. Raises UsageError."""
    if len(alts) > len(paths):
        raise UsageError(f"{len(alts)} --alt for {len(paths)} --media: give one --alt per file, in the same order")
    for alt in alts:
        if len(alt) > MAX_ALT_LENGTH:
            raise UsageError(f"--alt: {len(alt)} characters is over {MAX_ALT_LENGTH}; describe the image in fewer words")
    from socialsell.plugins.channel import MediaFile  # noqa: PLC0415 - the channel module costs ~10 ms (-X importtime); queue and post list import this module and never build a MediaFile

    return [MediaFile(path, alts[i].strip() if i < len(alts) else "") for i, path in enumerate(paths)]


def media_files(value: Sequence[str | dict[str, str]] | None) -> list[MediaFile]:
    """The files of a post as stored (``posts.media``: a path, or ``{"path", "alt"}`` when it
    has alternative text) or as given, as the channels receive them."""
    from socialsell.plugins.channel import MediaFile  # noqa: PLC0415 - see with_alts

    files = []
    for item in value or ():
        if isinstance(item, dict):
            files.append(MediaFile(str(item["path"]), str(item.get("alt") or "")))
        else:
            files.append(item if isinstance(item, MediaFile) else MediaFile(str(item)))
    return files


def stored_media(files: Sequence[MediaFile]) -> list[str | dict[str, str]] | None:
    """What ``posts.media`` holds: a path alone when there is no alt text (as before alt text
    existed, so older rows read the same), else ``{"path": ..., "alt": ...}``."""
    return [{"path": str(f), "alt": f.alt} if f.alt else str(f) for f in files] or None


def sniff_type(head: bytes) -> str | None:
    """The media type of a file from its first 16 bytes, or None when it is no image or video."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    return None


def check_media_file(path: str) -> str:
    """Check one file given with ``--media``; returns its media type. Raises UsageError."""
    if not path or "\x00" in path:
        raise UsageError(f"--media {path!r}: not a file name")
    try:
        info = os.stat(path)  # follows a symlink: what matters is what it points at
    except FileNotFoundError:
        raise UsageError(f"--media {path!r}: no such file") from None
    except OSError as e:
        raise UsageError(f"--media {path!r}: cannot read it ({e.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, pipe or socket)"
        raise UsageError(f"--media {path!r}: {kind}; attach an image or video file")
    if info.st_size == 0:
        raise UsageError(f"--media {path!r}: the file is empty")
    if info.st_size > MAX_MEDIA_BYTES:
        raise UsageError(f"--media {path!r}: {info.st_size / 1048576:.0f} MB is over the {MAX_MEDIA_BYTES // 1048576} MB limit")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise UsageError(f"--media {path!r}: cannot read it ({e.strerror})") from None
    kind = sniff_type(head)
    if kind is None:
        raise UsageError(f"--media {path!r}: not an image or video (JPEG, PNG, GIF, WEBP or MP4)")
    return kind


def check_media_for(channel: Channel, account: str, paths: Sequence[str]) -> None:
    """Refuse media the channel does not take: too many files, a type or size it refuses."""
    if not paths:
        return
    label = channel.label or channel.name
    if len(paths) > channel.max_media:
        raise UsageError(f"{account}: {label} takes at most {channel.max_media} files per post, not {len(paths)}")
    for path in paths:
        kind = check_media_file(path)
        if kind not in channel.media_types:
            takes = ", ".join(sorted(channel.media_types)) or "no files"
            raise UsageError(f"{account}: {label} does not take {kind} files ({Path(path).name}); it takes {takes}")
        size = os.stat(path).st_size
        if size > channel.max_media_bytes:
            raise UsageError(f"{account}: {Path(path).name} is {size / 1048576:.1f} MB; {label} takes files up to "
                             f"{channel.max_media_bytes / 1048576:.0f} MB")
