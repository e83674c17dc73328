"""The Slack app's pieces that need no server: its manifest and the modal's validation."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.chat.slack_app import BOT_SCOPES, COMMAND
from bot.chat.slack_render import field_errors, modal_tokens

ROOT = Path(__file__).resolve().parents[1]


def test_modal_fields_are_validated_one_by_one_by_the_grammar() -> None:
    values = {
        "areas": {"areas": {"selected_options": [{"value": "nlp"}]}},
        "keywords": {"keywords": {"value": "x" * 500}},
        "mode": {"mode": {"selected_option": {"value": "weekly"}}},
        "at": {"at": {"selected_time": "09:00"}},
        "tz": {"tz": {"value": "Nowhere/Special"}},
    }
    assert set(field_errors(modal_tokens(values))) == {"tz", "keywords"}
    values["keywords"]["keywords"]["value"] = "research"
    values["tz"]["tz"]["value"] = "Europe/Berlin"
    assert field_errors(modal_tokens(values)) == {}


def test_manifest_declares_the_command_scopes_and_modes_the_code_uses() -> None:
    manifest = yaml.safe_load((ROOT / "bot" / "data" / "slack-manifest.yml").read_text("utf-8"))
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND == "/jobs"
    assert command["should_escape"] is True  # user groups arrive with their ids
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == set(BOT_SCOPES)
    assert {"channels:read", "groups:read"} <= scopes  # public and private channels
    settings_ = manifest["settings"]
    assert settings_["socket_mode_enabled"] is True
    assert settings_["interactivity"]["is_enabled"] is True
    assert {"app_uninstalled", "tokens_revoked"} <= set(
        settings_["event_subscriptions"]["bot_events"]
    )
    # Every Web API method the Slack code calls is covered by a declared scope.
    needs = {
        "chat_postMessage": "chat:write",
        "chat_update": "chat:write",
        "chat_postEphemeral": "chat:write",  # a late answer to the subscribe form (#17)
        "views_open": None,  # a trigger id is its own permission
        "auth_test": None,  # the token check needs no scope
        "conversations_members": "channels:read",
        "conversations_history": "channels:history",
        "conversations_info": "channels:read",  # can a subscribe post there? (#17)
        "apps_connections_open": None,  # the app-level token's connections:write
        "conversations_open": "im:write",  # personal alerts go to the user's DM (#19)
        "views_publish": None,  # the Home tab needs no scope
    }
    source = "".join(p.read_text("utf-8") for p in (ROOT / "bot" / "chat").glob("slack*.py"))
    called = set(re.findall(r"client\.([a-z]+(?:_[A-Za-z]+)+)\(", source))
    assert called, "no Web API calls found"
    for method in called:
        assert method in needs, f"{method}: add its scope to the manifest and to this test"
        assert needs[method] is None or needs[method] in scopes, method
