"""How the Slack app answers `/jobs`: in the acknowledgement, or later when the work is slow.

Slack wants every slash command and modal submission acknowledged within 3 s
(``bot.chat.answer``). A reply ready in time goes in the acknowledgement itself; a later
one goes through the command's ``response_url`` (a slash command) or ``chat.postMessage``
/ ``chat.postEphemeral`` (a modal, which has no response_url). Either way the text is
escaped like posting text, since replies can quote posting titles (preview, why).

A late reply that cannot be delivered is logged: bolt has answered Slack already, and
nothing it could do with an exception would reach the user.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack_render import escape
from subscriptions.commands import CommandContext, Reply

__all__ = ["ack_reply", "post_reply", "respond_reply"]

log = logging.getLogger("jobbot.slack")


def _response_type(reply: Reply) -> str:
    return "ephemeral" if reply.ephemeral else "in_channel"


async def ack_reply(ack: AsyncAck, reply: Reply) -> None:
    """Answer a slash command in its acknowledgement (the reply was ready in time)."""
    text = escape(reply.text)
    if reply.ephemeral:
        await ack(text=text)
    else:
        await ack(response_type="in_channel", text=text)


async def respond_reply(respond: AsyncRespond, reply: Reply, ctx: CommandContext) -> None:
    """Deliver a slash command's reply after an empty acknowledgement, by its response_url.

    The response_url takes the same ``response_type`` as the acknowledgement would have,
    so the late reply is as public or private as an inline one. Never raises.
    """
    try:
        response = await respond(text=escape(reply.text), response_type=_response_type(reply))
    except Exception as error:  # the edge: aiohttp errors, a missing response_url, …
        log.warning(
            "could not deliver a late /jobs reply in %s to %s: %r", ctx.channel, ctx.user, error
        )
        return
    if response.status_code != 200:
        log.warning(
            "could not deliver a late /jobs reply in %s to %s: response_url answered %s %s",
            ctx.channel,
            ctx.user,
            response.status_code,
            response.body[:200],
        )


async def post_reply(client: AsyncWebClient, reply: Reply, ctx: CommandContext) -> None:
    """Tell the channel (or only the user) how a submitted subscribe form went. Never raises.

    A public reply is posted in the channel; one meant for the user alone (a refusal, an
    error, which the form would have shown next to its field had it come in time) goes
    to them as an ephemeral message.
    """
    text = escape(reply.text)
    try:
        if reply.ok and not reply.ephemeral:
            await client.chat_postMessage(channel=ctx.channel, text=text)
        else:
            await client.chat_postEphemeral(channel=ctx.channel, user=ctx.user, text=text)
    except SlackApiError as error:
        log.warning("could not confirm subscription in %s: %s", ctx.channel, error)
    except Exception as error:  # the edge: connection errors after the modal was closed
        log.warning("could not confirm subscription in %s: %r", ctx.channel, error)
