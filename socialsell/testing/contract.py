"""The contract kit as a pytest suite: subclass :class:`ChannelContract` (needs pytest).

The checks themselves are the plain functions of :mod:`socialsell.testing`; this class runs
each one as a test, under a time limit, with the tuning attributes documented in
docs/plugins.md ("Testing your channel").
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from socialsell.plugins.channel import Channel
from socialsell.testing import (
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_ENGAGEMENT_HANDLE,
    DEFAULT_ENGAGEMENT_KIND,
    DEFAULT_ENGAGEMENT_TEXT,
    Clock,
    _utcnow,
    account_secrets,
    check_attributes,
    check_construction,
    check_engagement_arrives_once,
    check_fault,
    check_find_recent_posts,
    check_first_fetch,
    check_metrics,
    check_old_cursor_replays,
    check_publish,
    check_reply,
    check_search,
    check_share,
    check_timeout_after_send,
    check_validate,
    time_limit,
)

__all__ = ["ChannelContract"]


class ChannelContract:
    """Subclass as ``TestMyChannel(ChannelContract)`` and define the ``channel`` and ``network``
    fixtures (see the module docstring). Override ``secrets`` to name strings that must never
    appear in an error, and ``contract_clock`` when the channel runs on a fake clock."""

    #: modules the channel imports at first use: neither its module top nor its constructor may import them
    lazy_modules: ClassVar[tuple[str, ...]] = ()
    #: the kind of engagement the kit makes on the network (``network.engage``); "like" or
    #: "repost" test a channel that reads only those (no text is sent or compared)
    engagement_kind: ClassVar[str] = DEFAULT_ENGAGEMENT_KIND
    #: who makes it
    engagement_handle: ClassVar[str] = DEFAULT_ENGAGEMENT_HANDLE
    #: what they write (ignored for like, repost and follow)
    engagement_text: ClassVar[str | None] = DEFAULT_ENGAGEMENT_TEXT
    #: seconds one check may take before it fails (None: no limit)
    check_timeout: ClassVar[float | None] = DEFAULT_CHECK_TIMEOUT

    @pytest.fixture(autouse=True)
    def _contract_time_limit(self, request: pytest.FixtureRequest) -> Any:
        """Every check runs under ``check_timeout`` (fixtures' setup included)."""
        with time_limit(self.check_timeout, f"{type(self).__name__}.{request.node.name}"):
            yield

    @pytest.fixture
    def channel(self) -> Channel:
        pytest.fail(f"{type(self).__name__} must define a `channel` fixture returning the channel under test")

    @pytest.fixture
    def network(self) -> Any:
        return None

    @pytest.fixture
    def secrets(self, channel: Channel) -> list[str]:
        """Strings no error may contain; wrap your own in :class:`Secrets` to keep them out of reports."""
        return account_secrets(channel.account)

    @pytest.fixture
    def contract_clock(self) -> Clock:
        return _utcnow

    # 1. the class
    def test_class_attributes_and_capabilities(self, channel: Channel) -> None:
        check_attributes(channel)

    def test_construction_is_offline_and_lazy(self, channel: Channel) -> None:
        check_construction(channel, self.lazy_modules)

    # 2. text
    def test_validate_refuses_empty_and_long_text(self, channel: Channel) -> None:
        check_validate(channel)

    # 3. publishing
    def test_publish_returns_published(self, channel: Channel) -> None:
        check_publish(channel)

    def test_published_post_is_found_by_find_recent_posts(self, channel: Channel, contract_clock: Clock) -> None:
        check_find_recent_posts(channel, contract_clock)

    def test_share_in_each_mode_is_found_again(self, channel: Channel, contract_clock: Clock) -> None:
        check_share(channel, contract_clock)

    # 4. engagements
    def test_first_fetch_returns_engagements_and_a_text_cursor(self, channel: Channel, contract_clock: Clock) -> None:
        check_first_fetch(channel, contract_clock)

    def test_engagement_arrives_once(self, channel: Channel, network: Any, contract_clock: Clock) -> None:
        check_engagement_arrives_once(channel, network, contract_clock, self.engagement_kind, self.engagement_handle,
                                      self.engagement_text)

    def test_old_cursor_returns_the_engagement_again(self, channel: Channel, network: Any, contract_clock: Clock) -> None:
        check_old_cursor_replays(channel, network, contract_clock, self.engagement_kind, self.engagement_handle,
                                 self.engagement_text)

    # 5. errors
    def test_rate_limit_raises_rate_limited(self, channel: Channel, network: Any, secrets: list[str], contract_clock: Clock) -> None:
        check_fault(channel, network, "rate_limit", secrets, contract_clock)

    def test_server_error_raises_transient_error(self, channel: Channel, network: Any, secrets: list[str], contract_clock: Clock) -> None:
        check_fault(channel, network, "server_error", secrets, contract_clock)

    def test_auth_failure_raises_auth_error(self, channel: Channel, network: Any, secrets: list[str], contract_clock: Clock) -> None:
        check_fault(channel, network, "auth", secrets, contract_clock)

    def test_timeout_after_send_may_have_delivered(self, channel: Channel, network: Any, secrets: list[str], contract_clock: Clock) -> None:
        check_timeout_after_send(channel, network, secrets, contract_clock)

    # 6. reply
    def test_reply_publishes_or_links(self, channel: Channel, network: Any, contract_clock: Clock) -> None:
        check_reply(channel, network, contract_clock, self.engagement_kind, self.engagement_handle, self.engagement_text)

    # 7. listening
    def test_search_finds_a_public_post_and_reads_on_from_its_cursor(self, channel: Channel, network: Any) -> None:
        check_search(channel, network)

    # 8. metrics
    def test_metrics_are_counts(self, channel: Channel) -> None:
        check_metrics(channel)
