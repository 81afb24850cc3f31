"""A strict loopback fake of Discord (REST API v10 and Gateway) for end-to-end bot tests.

The real discord.py client logs into it over 127.0.0.1. The fake answers the way Discord does,
records every request, and collects protocol violations (over-limit payloads, late or duplicate
interaction responses, unknown endpoints) so that a test can fail on them. It is as strict as
Discord where bots fail real users: per-channel permissions (403 with Discord's codes: 50001,
50013, 160002 for a reply without Read Message History), system message types, message content
only under the intents Discord would grant, interaction tokens that expire (401 50027 after 15
minutes), slash command sync refused for a guild the bot is not in (403 50001), privileged
intents not enabled in the portal (close 4014), a refused IDENTIFY (close 4004), RECONNECT (op 7),
heartbeat ACKs that go missing, and several shards (GET /gateway/bot; a shard's events go to
every session identified on it, so two processes on one shard both get them, and a second
response to an interaction is refused with 400 40060). It also knows forums (posts are threads
opened with their first message; nothing is sent to the forum itself: 400 50008), voice and
stage channels' text chat (threads open only in text and announcement channels: elsewhere 400
50024), link buttons (an http(s) address of at most 512 characters), messages read back over
REST (Read Message History, else 403 50001; content as the intents allow), application teams
(owner and roles), and what Discord would show of the bot's messages beyond their text: link
previews (`BotMessage.previews`, none under SUPPRESS_EMBEDS, which hides embeds too) and live
markup (`BotMessage.live_markup`: mentions, timestamps, custom emoji, command and channel
links). `Gateway.deliveries` tells which sessions an event was sent to.

Layout, from the bottom up (each module imports only those above it):

- `payloads`: Discord's flags, permissions and limits as constants, and pure functions checking
  what the bot sends (`message_problems`, ...) and what a user can type (`command_options`).
- `state`: the records tests read (`RecordedRequest`, `BotMessage`, `Heartbeat`) and the `World`,
  the in-memory guild, users, channels, messages and interactions everything else shares.
- `gateway`: the websocket protocol (`Gateway`): HELLO, heartbeats, IDENTIFY, RESUME, dispatches.
- `rest`: the REST routes (`RestRoutes`): auth, injected faults, messages, interactions,
  webhooks, commands, threads, DMs.
- `driver`: `FakeDiscord`, which owns a World, a Gateway and RestRoutes, serves them on one port,
  and has the API tests use (send a message, run a slash command, click a button, wait for the
  bot's replies, inject faults, check heartbeats); `Exchange`; and `running_bot`, which points
  discord.py at a fake.

Usage: `fake = FakeDiscord(); await fake.start()`, then `async with running_bot(bot, fake):` and
`reply = await (await fake.send_user_message("hi", mention_bot=True)).message()`; end with
`fake.assert_clean()` and `await fake.stop()`. To check that the bot leaves a message alone, have
its test helpers call `fake.mark_handled(message_id)` once it is done with one, and
`await fake.until_handled(exchange)` instead of sleeping.
"""

from tests.support.discord_fake.driver import Exchange, FakeDiscord, running_bot
from tests.support.discord_fake.payloads import DEFAULT_PERMISSIONS, JSON
from tests.support.discord_fake.state import BotMessage, Heartbeat, RecordedRequest

__all__ = [
    "DEFAULT_PERMISSIONS",
    "JSON",
    "BotMessage",
    "Exchange",
    "FakeDiscord",
    "Heartbeat",
    "RecordedRequest",
    "running_bot",
]
