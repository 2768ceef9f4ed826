"""socialsell's X (Twitter) channel: publish, threads, images, engagements, replies and metrics.

Importing this package is cheap on purpose: every CLI command loads it. The channel module,
and tweepy with it, is imported only when an X account is actually used.
"""

from socialsell.api import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_channels(register):
    from socialsell_x.channel import XChannel  # noqa: PLC0415 - the plugin's modules load when the hook runs, not with every command (docs/plugins.md)

    register("x", XChannel)
