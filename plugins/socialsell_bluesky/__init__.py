"""Bluesky (AT Protocol) as a socialsell channel, built on ``socialsell.api`` alone.

The channel, and the ``atproto`` client with it, is imported only when a Bluesky account is
actually used (docs/channels/bluesky.md says how to connect one).
"""

from socialsell.api import hookimpl


@hookimpl
def register_channels(register):
    from socialsell_bluesky.channel import BlueskyChannel  # noqa: PLC0415 - the plugin's modules load when the hook runs, not with every command (docs/plugins.md)

    register("bluesky", BlueskyChannel)
