"""The Slack App Home tab: a user's personal subscriptions, with buttons to change them (#19).

Opening the app's Home tab (``app_home_opened``) publishes (``views.publish``) a view
listing the user's personal subscriptions in that workspace, each with Pause or Resume
and Remove buttons. A button runs the same `/jobs` command the user could type, through
the platform-neutral handlers (so only the owner can change one), then publishes the
view again. **New alert** opens the subscribe form (``views.open``) for a personal
subscription, the form `/jobs subscribe` also opens in the app's DM; submitting it runs
`subscribe … to:me` and shows the outcome in the form.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.answer import Pending
from bot.chat.slack_render import (
    PERSONAL_SUBSCRIBE_CALLBACK,
    escape,
    field_errors,
    modal_tokens,
    subscribe_modal,
)
from bot.store.protocols import Store
from subscriptions.commands import CommandContext, Reply
from subscriptions.grammar import format_filter, format_schedule
from subscriptions.model import Subscription
from subscriptions.personal import personal_target

__all__ = [
    "HOME_ACTIONS",
    "NEW_ALERT",
    "HomeRunner",
    "home_view",
    "outcome_view",
    "register_home",
    "tell",
]

log = logging.getLogger("jobbot.slack")

# Button action ids and the `/jobs` verb each one runs.
HOME_ACTIONS = {"home_pause": "pause", "home_resume": "resume", "home_remove": "unsubscribe"}
NEW_ALERT = "home_subscribe"
# A Home tab holds at most 100 blocks: three intro blocks, two per subscription, one note.
MAX_SHOWN = 48


class HomeRunner(Protocol):
    """What the Home tab needs from the bot (``bot.app.JobBot`` provides it)."""

    @property
    def store(self) -> Store: ...

    async def command(self, text: str, ctx: CommandContext) -> Reply: ...


def _button(text: str, action_id: str, value: str, *, danger: bool = False) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if danger:
        button["style"] = "danger"
    return button


def home_view(subs: Sequence[Subscription]) -> dict[str, Any]:
    """The Home tab for one user: their personal subscriptions and how to make one."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your job alerts"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Personal alerts come to you here, in Messages. Make one with "
                    "the button, or in any channel: `/jobs subscribe area:nlp country:DE "
                    "to:me`; `/jobs stop me` removes them all.",
                }
            ],
        },
        {
            "type": "actions",
            "block_id": "new",
            "elements": [
                {**_button("New alert", NEW_ALERT, "new"), "style": "primary"},
            ],
        },
    ]
    if not subs:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "You have no personal subscriptions yet."},
            }
        )
    for sub in subs[:MAX_SHOWN]:
        # Filters hold what the user typed: escaped, so they cannot mention or link.
        text = f"*#{sub.id}* `{escape(format_filter(sub.filter))}`\n"
        text += escape(format_schedule(sub.schedule))
        if sub.paused:
            text += f"\n_Paused{': ' + escape(sub.paused_reason) if sub.paused_reason else ''}_"
        toggle = ("Resume", "home_resume") if sub.paused else ("Pause", "home_pause")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        blocks.append(
            {
                "type": "actions",
                "block_id": f"sub-{sub.id}",
                "elements": [
                    _button(*toggle, str(sub.id)),
                    _button("Remove", "home_remove", str(sub.id), danger=True),
                ],
            }
        )
    if len(subs) > MAX_SHOWN:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"And {len(subs) - MAX_SHOWN} more: `/jobs list`."}
                ],
            }
        )
    return {"type": "home", "blocks": blocks}


def register_home(app: AsyncApp, runner: HomeRunner, clock: Callable[[], datetime]) -> None:
    """Listen for the Home tab being opened and for its buttons."""

    async def publish(client: AsyncWebClient, team: str, user: str) -> None:
        platform, workspace, channel = personal_target("slack", team, user)
        subs = await asyncio.to_thread(
            runner.store.subscriptions, platform=platform, workspace=workspace, channel=channel
        )
        try:
            await client.views_publish(user_id=user, view=home_view(subs))
        except SlackApiError as error:
            log.warning("could not publish the Home tab of %s: %s", user, error)

    @app.event("app_home_opened")
    async def opened(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        # The event also fires for the Messages tab, which shows the alerts themselves.
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        await publish(client, str(body.get("team_id") or ""), str(event["user"]))

    async def clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        [action] = body.get("actions") or [{}]
        user = str((body.get("user") or {}).get("id") or "")
        team = str((body.get("team") or {}).get("id") or "")
        verb = HOME_ACTIONS.get(str(action.get("action_id")))
        if not user or verb is None:
            return
        # No channel: the handlers let the owner, and only the owner, change their own.
        ctx = CommandContext("slack", team, "", user, clock(), can_manage=False)
        reply = await runner.command(f"{verb} {action.get('value')}", ctx)
        if not reply.ok:
            log.info("Home tab %s by %s refused: %s", verb, user, reply.text)
        await publish(client, team, user)

    for action_id in HOME_ACTIONS:
        app.action(action_id)(clicked)

    @app.action(NEW_ALERT)
    async def new_alert(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        # The trigger id lives 3 s: acknowledge, then open the form at once.
        await ack()
        team = str((body.get("team") or {}).get("id") or "")
        try:
            await client.views_open(
                trigger_id=body["trigger_id"], view=subscribe_modal(team, "", personal=True)
            )
        except SlackApiError as error:
            log.warning("could not open the personal subscribe form: %s", error)
            await tell(
                client,
                str((body.get("user") or {}).get("id") or ""),
                "I could not open the subscribe form (it has to open within 3 seconds). Try "
                "again, or type the filters: `/jobs subscribe area:nlp country:DE to:me`.",
            )

    @app.view(PERSONAL_SUBSCRIBE_CALLBACK)
    async def submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = str(body["user"]["id"])
        team = str(json.loads(view.get("private_metadata") or "{}").get("team") or "")
        tokens = modal_tokens(view["state"]["values"])
        if errors := field_errors(tokens):
            await ack(response_action="errors", errors=errors)
            return
        ctx = CommandContext("slack", team, "", user, clock(), can_manage=False)
        text = " ".join(["subscribe", *(token for _, token in tokens), "to:me"])
        pending = Pending(runner.command(text, ctx), text, log)
        reply = await pending.within()
        if reply is None:
            # Slow store: close the form now; the Home tab shows the outcome.
            await ack()
            reply = await pending.reply()
        elif not reply.ok:
            block = tokens[-1][0] if tokens else "areas"
            await ack(response_action="errors", errors={block: reply.text.split("\n")[0]})
            return
        else:
            await ack(response_action="update", view=outcome_view(reply.text))
        if not reply.ok:
            # The form has closed: the refusal (the limit reached, say) goes to the DM.
            log.info("personal subscribe by %s refused: %s", user, reply.text)
            await tell(client, user, reply.text)
        await publish(client, team, user)


async def tell(client: AsyncWebClient, user: str, text: str) -> None:
    """Send ``user`` a message in their DM with the app; a failure is only logged."""
    if not user:
        return
    try:
        opened = await client.conversations_open(users=user)
        channel = str((opened.get("channel") or {}).get("id") or "")
        await client.chat_postMessage(channel=channel, text=escape(text))
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user, error)


def outcome_view(text: str) -> dict[str, Any]:
    """The form, once submitted: what happened, and a button to close it."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Your job alerts"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)[:3000]}}],
    }
