"""socialsell's LinkedIn channel (company pages and members), built on python-linkedin-v2.

Importing this package is cheap: the channel module, ``linkedin_v2`` and ``requests`` load
only when a LinkedIn account is used.
"""

from socialsell.api import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_channels(register):
    from socialsell_linkedin.channel import LinkedInChannel  # noqa: PLC0415 - the plugin's modules load when the hook runs, not with every command (docs/plugins.md)

    register("linkedin", LinkedInChannel)
