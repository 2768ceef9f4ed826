"""socialsell: queue brand posts, turn every reaction into a scored, owned follow-up."""

from socialsell.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
