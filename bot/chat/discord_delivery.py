"""Discord delivery: alerts, digests, reminders and notices through discord.py's REST client.

Everything sent carries ``allowed_mentions`` that let nothing ping except, on alerts,
digests and reminders, the subscription's own role (or @here). Alerts can be edited
later (a posting closed or changed); in a forum channel each alert is a post of its own.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import aiohttp

from bot.chat.discord_errors import EDIT_PERMANENT_CODES, PERMANENT_CODES, chat_error
from bot.chat.discord_lib import discord
from bot.chat.discord_messages import message_kwargs, message_view, nonce, post_message
from bot.chat.discord_render import (
    DiscordMessage,
    alert_message,
    digest_messages,
    notice_message,
    post_name,
    reminder_message,
    with_mention,
)
from bot.chat.discord_tags import ForumTag, forum_tag_ids
from bot.chat.outcomes import may_have_gone
from bot.chat.pacing import ChannelPacer, interval_pacer, paced
from bot.chat.parts import PartProgress, send_parts
from bot.errors import (
    ChatError,
    PermanentChatError,
    TokenChatError,
    TransientChatError,
)
from bot.store import Delivery, StoredPosting
from subscriptions.model import Subscription
from subscriptions.personal import is_personal, user_of_channel

log = logging.getLogger("jobbot.discord")
T = TypeVar("T")

__all__ = ["DiscordDelivery"]

THREAD_ARCHIVED = 50083
# Forum posts opened (by channel and nonce) that this process remembers, to not open twice.
POST_MEMORY = 2048


class DiscordDelivery:
    """Alerts, digests, reminders and notices out through Discord's REST API (a part of
    ``DiscordAdapter``): paced per channel, forums given a post each, errors by scope.
    """

    platform: str
    token: str
    client: discord.Client | None
    channel_pace: float
    _token_reset: bool
    _pacer: ChannelPacer | None
    _paced_at: float
    _global: ChannelPacer
    _fetched: dict[str, discord.ForumChannel | None]
    _posts: OrderedDict[str, str]

    async def _guarded(
        self,
        channel_id: str,
        call: Callable[[discord.Client], Awaitable[T]],
        *,
        permanent: frozenset[int] = PERMANENT_CODES,
    ) -> T:
        """Run one REST call for a channel, paced, with Discord's errors as ``ChatError``."""
        client = self.client
        if self._token_reset:
            raise TokenChatError(self.platform, "4004", "token reset: set the new DISCORD_TOKEN")
        if client is None or client.user is None:
            raise TransientChatError(self.platform, "not_connected", "Discord is not logged in yet")
        if self._paced_at != self.channel_pace:
            self._pacer, self._paced_at = interval_pacer(self.channel_pace), self.channel_pace
        # discord.py waits out 429s and follows the rate-limit headers; pacing on top
        # (about the usual 5 messages per 5 s of a channel, and Discord's 50 requests per
        # second for the bot) keeps a burst from draining a bucket before the headers say so.
        async with paced(self._pacer, channel_id, self._global):
            try:
                return await call(client)
            except discord.RateLimited as error:
                if self._pacer is not None:
                    self._pacer.push_back(channel_id, error.retry_after)
                raise TransientChatError(
                    self.platform, "rate_limited", str(error), retry_after=error.retry_after
                ) from error
            except discord.HTTPException as error:
                raise chat_error(self.platform, error, permanent) from error
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                raise TransientChatError(
                    self.platform,
                    "network",
                    f"{type(error).__name__}: {error}",
                    maybe_sent=may_have_gone(error),
                ) from error
            except ChatError:
                raise
            except Exception as error:  # the edge: e.g. "Session is closed" after a reset
                log.warning("unexpected error from discord.py: %r", error)
                raise TransientChatError(
                    self.platform, "unexpected", repr(error)[:300], maybe_sent=True
                ) from error

    async def check_auth(self) -> None:
        """Ask Discord (``GET /users/@me``) whether the bot token works; ``ChatError`` if not.

        A request of its own rather than through discord.py, whose session may be closed
        after a token reset.
        """
        url = discord.http.Route.BASE + "/users/@me"
        headers = {"Authorization": f"Bot {self.token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
                session.get(url, headers=headers) as response,
            ):
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise TransientChatError(self.platform, "network", repr(error)) from error
        if status == 401:
            raise TokenChatError(self.platform, "401", "Discord refused the bot token")
        if status >= 400:
            raise TransientChatError(self.platform, f"http_{status}", "checking the token")

    async def _send(self, channel_id: str, message: DiscordMessage, nonce: str) -> str:
        """Send a message to a channel (or thread) known to take messages."""

        async def call(client: discord.Client) -> str:
            return await post_message(client, channel_id, message, nonce)

        return await self._guarded(channel_id, call)

    async def _forum(self, client: discord.Client, channel_id: str) -> discord.ForumChannel | None:
        """The channel as a forum, or None for a channel that takes messages.

        The gateway's cache is used when it has the channel (it follows tag changes);
        otherwise the channel is fetched once and its kind remembered.
        """
        cached = client.get_channel(int(channel_id))
        if cached is not None:
            return cached if isinstance(cached, discord.ForumChannel) else None
        if channel_id not in self._fetched:
            fetched = await client.fetch_channel(int(channel_id))
            self._fetched[channel_id] = (
                fetched if isinstance(fetched, discord.ForumChannel) else None
            )
        return self._fetched[channel_id]

    async def _deliver(
        self,
        channel_id: str,
        message: DiscordMessage,
        nonce: str,
        *,
        name: str,
        areas: Sequence[str] = (),
    ) -> str:
        """Send ``message`` to a channel, or open a forum post ``name`` with it in a forum.

        Returns ``channel/message``; for a forum post that is ``thread/starter message``,
        so that the message can be edited and further parts sent into the post.
        """
        key = f"{channel_id}/{nonce}"
        if key in self._posts:
            return self._posts[key]

        async def call(client: discord.Client) -> tuple[str, bool]:
            user = user_of_channel(channel_id)
            if user is not None:
                # A personal target (#19): the user's DM, which discord.py opens once
                # (POST /users/@me/channels) and keeps.
                dm = await client.create_dm(discord.Object(int(user)))
                return await post_message(client, str(dm.id), message, nonce), False
            forum = await self._forum(client, channel_id)
            if forum is None:
                return await post_message(client, channel_id, message, nonce), False
            wanted = set(
                forum_tag_ids(
                    [ForumTag(t.id, t.name, t.moderated) for t in forum.available_tags],
                    areas,
                    required=forum.flags.require_tag,
                    can_moderate=_can_moderate(forum),
                )
            )
            kwargs = message_kwargs(message)
            created = await forum.create_thread(
                name=post_name(name),
                content=message.content or None,
                applied_tags=[t for t in forum.available_tags if t.id in wanted],
                **kwargs,
            )
            return f"{created.thread.id}/{created.message.id}", True

        # One paced call: the forum check and the send together.
        ref, is_post = await self._guarded(channel_id, call)
        if not is_post:
            return ref
        # Creating a forum post takes no nonce, so Discord cannot de-duplicate it; this
        # memory keeps a retry within this process (say, a digest whose second part
        # failed) from opening a second post.
        self._posts[key] = ref
        while len(self._posts) > POST_MEMORY:
            self._posts.popitem(last=False)
        return ref

    async def send_alert(
        self, subscription: Subscription, posting: StoredPosting, delivery_id: int
    ) -> str | None:
        """Post one alert embed with an Apply button (its own post in a forum channel).

        The subscription's mention (a role or @here) is the only thing that can ping. A
        retried delivery is not posted twice: Discord returns the first message for a
        repeated nonce (enforce_nonce), so a retry after a lost answer creates nothing new.
        """
        message = with_mention(alert_message(posting.posting), subscription.schedule.mention)
        return await self._deliver(
            subscription.channel,
            message,
            f"jb{delivery_id}",
            name=posting.posting.title,
            areas=posting.posting.areas,
        )

    async def find_sent(
        self, subscription: Subscription, deliveries: Sequence[Delivery]
    ) -> dict[int, str]:
        """After a crash: the forum posts these alerts opened, if they went out.

        A message in a channel needs no lookup: sent again with the same nonce, Discord
        returns the first one. A forum post takes no nonce, so the forum's active posts
        are searched (once for all the rows) for this bot's, named like a posting, whose
        alert shows that posting. (Two subscriptions of one forum alerting the same
        posting cannot be told apart; the second is then taken as sent.)
        """
        found: dict[int, str] = {}
        wanted: dict[str, list[Delivery]] = {}
        if is_personal(subscription):
            return found  # a DM takes a nonce, as a channel does: no lookup needed
        for delivery in deliveries:
            if delivery.kind != "instant":
                continue  # digests are resumed part by part, never looked for
            cached = self._posts.get(f"{subscription.channel}/jb{delivery.id}")
            if cached is not None:
                found[delivery.id] = cached
            else:
                wanted.setdefault(post_name(delivery.posting.posting.title), []).append(delivery)
        if not wanted:
            return found

        async def call(client: discord.Client) -> None:
            forum = await self._forum(client, subscription.channel)
            me = client.user
            if forum is None or me is None:
                return
            for thread in await forum.guild.active_threads():
                if (thread.parent_id, thread.owner_id) != (forum.id, me.id):
                    continue
                candidates = [d for d in wanted.get(thread.name, []) if d.id not in found]
                if not candidates:
                    continue
                starter = await thread.fetch_message(thread.id)
                shown = {(e.title, e.url) for e in starter.embeds}
                for delivery in candidates:
                    expected = alert_message(delivery.posting.posting).embeds[0]
                    if (expected["title"], expected.get("url")) in shown:
                        found[delivery.id] = f"{thread.id}/{starter.id}"
                        break

        try:
            await self._guarded(subscription.channel, call)
        except PermanentChatError as error:
            # The forum is gone or unreadable: the send that follows will say so for good.
            log.warning("cannot look for alerts in the forum: %s", error)
        return found

    async def send_digest(
        self,
        subscription: Subscription,
        postings: Sequence[StoredPosting],
        title: str,
        digest_key: str,
        *,
        progress: PartProgress | None = None,
    ) -> list[str]:
        """Post a digest as several embed messages, each within Discord's limits.

        The first carries the subscription's mention. In a forum channel the digest is one
        post named by ``title``, the further parts messages in it. Parts in ``progress``
        are not sent again: the nonces (from ``digest_key``) catch a repeat only for a few
        minutes, and a forum post takes none.
        """
        key = hashlib.sha256(f"{subscription.id}:{digest_key}".encode()).hexdigest()[:19]
        messages = digest_messages(title, [p.posting for p in postings])
        messages[0] = with_mention(messages[0], subscription.schedule.mention)
        areas = sorted({a for p in postings for a in p.posting.areas})

        async def send(index: int, message: DiscordMessage, refs: Sequence[str]) -> str:
            if index == 0:
                return await self._deliver(
                    subscription.channel, message, f"jd{key}000", name=title, areas=areas
                )
            # Into the channel, or into the forum post the first part opened.
            target = refs[0].partition("/")[0]
            return await self._send(target, message, f"jd{key}{index:03d}")

        return await send_parts(messages, progress, send)

    async def edit_alert(
        self, subscription: Subscription, posting: StoredPosting, message_ref: str
    ) -> None:
        """Rewrite a sent alert from the posting as it now is (closed: greyed, marked).

        Only the embed and the Apply button change; the content (the mention) stays, and
        the edit allows no mention, so it pings nobody. An archived forum post is
        unarchived first. A deleted message (10008) or a lost channel is a
        ``PermanentChatError``.
        """
        channel_id, _, message_id = message_ref.partition("/")
        if not (channel_id.isdigit() and message_id.isdigit()):
            raise PermanentChatError(self.platform, "bad_ref", f"not a message: {message_ref!r}")
        message = alert_message(posting.posting)

        async def edit(client: discord.Client) -> None:
            channel = client.get_partial_messageable(int(channel_id))
            await channel.get_partial_message(int(message_id)).edit(
                embeds=[discord.Embed.from_dict(e) for e in message.embeds],
                view=message_view(message),
                allowed_mentions=discord.AllowedMentions.none(),
            )

        async def call(client: discord.Client) -> None:
            try:
                await edit(client)
            except discord.HTTPException as error:
                if error.code != THREAD_ARCHIVED:
                    raise
                # A forum post archives itself after some days without activity, and its
                # messages cannot be edited then. Unarchiving an unlocked thread needs only
                # Send Messages; the post archives itself again later.
                await client.http.edit_channel(int(channel_id), archived=False)
                await edit(client)

        await self._guarded(channel_id, call, permanent=EDIT_PERMANENT_CODES)

    async def send_reminder(
        self,
        subscription: Subscription,
        posting: StoredPosting,
        key: str,
        *,
        days_left: int | None = None,
    ) -> str | None:
        """Post the alert again, headed "Deadline in N days: apply by D", with the mention.

        In a forum channel the reminder is a post of its own.
        """
        days = subscription.schedule.remind_days if days_left is None else days_left
        message = reminder_message(posting.posting, days, subscription.schedule.mention)
        return await self._deliver(
            subscription.channel,
            message,
            nonce("jr", key),
            name=f"Reminder: {posting.posting.title}",
            areas=posting.posting.areas,
        )

    async def send_notice(self, subscription: Subscription, text: str, key: str) -> str | None:
        """Post a short notice from jobbot (no mentions); in a forum, as a post of its own."""
        first_line = text.strip().split("\n", 1)[0]
        return await self._deliver(
            subscription.channel,
            notice_message(text),
            nonce("jn", key),
            name=f"jobbot: {first_line}",
        )


def _can_moderate(forum: discord.ForumChannel) -> bool:
    """Whether the bot may apply the forum's moderated tags (it has Manage Threads there)."""
    me = getattr(forum.guild, "me", None)
    if me is None:
        return False  # unknown (the guild is not cached): only unmoderated tags, to be safe
    return forum.permissions_for(me).manage_threads
