"""End-to-end tests proving that FakeDiscord works with the real discord.py client.

A tiny throwaway bot, defined here, logs into the fake and uses the Discord features citebot will
need: mentions and replies, slash commands (deferred, ephemeral, autocomplete), buttons, threads,
DMs. Negative tests check that the fake rejects what Discord would reject.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.support.discord_fake import BotMessage, FakeDiscord, running_bot
from tests.support.discord_fake.payloads import (
    MESSAGE_CONTENT,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    STAGE_CHANNEL,
    VIEW_CHANNEL,
    VOICE_CHANNEL,
)

FRUITS = ("apple", "apricot", "banana", "cherry")
PERMISSION_NAMES = {
    VIEW_CHANNEL: "view_channel",
    SEND_MESSAGES: "send_messages",
    READ_MESSAGE_HISTORY: "read_message_history",
}


def _busy(seconds: float) -> None:
    """Burn CPU on the event loop, like a handler running a model synchronously would."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        hashlib.sha256(b"work").digest()


class VoteView(discord.ui.View):
    """One persistent "Yes" button that edits the message it is on."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Yes", custom_id="vote:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Replace the question with the vote (callback type 7)."""
        await interaction.response.edit_message(
            content=f"{interaction.user.name} voted yes", view=None
        )


class TinyBot(commands.Bot):
    """A throwaway bot exercising the gateway and REST paths a real bot uses."""

    def __init__(
        self, *, message_content: bool = True, members: bool = False, **options: Any
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content, intents.members = message_content, members
        super().__init__(
            command_prefix="!",
            intents=intents,
            help_command=None,
            guild_ready_timeout=0.05,
            **options,
        )
        self.http_errors: asyncio.Queue[int] = asyncio.Queue()
        self.release = asyncio.Event()
        self.synced: list[app_commands.AppCommand] = []
        _add_commands(self)

    async def setup_hook(self) -> None:
        """Sync slash commands before connecting, as most bots do."""
        self.synced = await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Skip discord.py's 5 s courtesy wait before a non-initial IDENTIFY."""

    async def on_message(self, message: discord.Message) -> None:
        """Answer mentions and DMs: react, type, reply; or open a thread, or DM the author."""
        assert self.user is not None
        if message.author.bot or not (self.user in message.mentions or message.guild is None):
            return
        text = message.content.replace(f"<@{self.user.id}>", "").strip()
        if text == "thread":
            thread = await message.create_thread(name="Discussion")
            await thread.send("in thread")
        elif text == "dm me":
            await message.author.send("psst")
        else:
            await message.add_reaction("👀")
            async with message.channel.typing():
                ref = message.reference.resolved if message.reference else None
                to_me = isinstance(ref, discord.Message) and ref.author == self.user
                prefix = "you replied to me" if to_me else "you said"
                await message.reply(f"{prefix}: {text}", mention_author=False)


def _add_commands(bot: TinyBot) -> None:
    tree = bot.tree

    @tree.command(description="Answer a question")
    async def ask(interaction: discord.Interaction, question: str, private: bool = False) -> None:
        await interaction.response.defer(ephemeral=private, thinking=True)
        await interaction.followup.send(f"answer to {question}")

    @tree.command(description="Reply, then edit the reply")
    async def progress(interaction: discord.Interaction) -> None:
        callback = await interaction.response.send_message("working…")
        await interaction.edit_original_response(content=f"done with {callback.message_id}")

    @tree.command(description="Defer publicly, then try to follow up privately")
    async def mixed(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("meant to be private", ephemeral=True)
        await interaction.followup.send("really private", ephemeral=True)

    @tree.command(description="Echo privately")
    async def echo(interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True)

    @tree.command(description="Double a number")
    async def double(interaction: discord.Interaction, n: app_commands.Range[int, 1, 10]) -> None:
        await interaction.response.send_message(str(2 * n))

    @tree.command(description="Pick a fruit")
    async def pick(interaction: discord.Interaction, fruit: str) -> None:
        await interaction.response.send_message(f"picked {fruit}")

    @pick.autocomplete("fruit")
    async def pick_fruit(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]

    @tree.command(description="Ask for a vote")
    async def vote(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Vote?", view=VoteView())

    @tree.command(description="Admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    @tree.command(description="Respond twice, bypassing discord.py's guard")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        route = discord.http.Route(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            interaction_id=interaction.id,
            interaction_token=interaction.token,
        )
        try:
            await bot.http.request(route, json={"type": 4, "data": {"content": "second"}})
        except discord.HTTPException as exc:
            bot.http_errors.put_nowait(exc.status)

    @tree.command(description="Respond only once released")
    async def slow(interaction: discord.Interaction) -> None:
        await bot.release.wait()
        try:
            await interaction.response.send_message("too late")
        except discord.HTTPException as exc:
            bot.http_errors.put_nowait(exc.status)

    @tree.command(description="Block the event loop, then answer")
    async def block(interaction: discord.Interaction) -> None:
        _busy(0.6)
        await interaction.response.send_message("done")


@asynccontextmanager
async def session(
    *, message_content: bool = True, members: bool = False, **options: Any
) -> AsyncIterator[tuple[FakeDiscord, TinyBot]]:
    """A started fake with a TinyBot logged into it."""
    fake = FakeDiscord(**options)
    await fake.start()
    try:
        bot = TinyBot(message_content=message_content, members=members)
        async with running_bot(bot, fake):
            yield fake, bot
    finally:
        await fake.stop()


@pytest.fixture(autouse=True)
def no_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Errors inside discord.py event handlers are only logged: fail the test on them."""
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def _statuses(fake: FakeDiscord, method: str, suffix: str) -> list[int]:
    return [r.status for r in fake.requests if r.method == method and r.path.endswith(suffix)]


@pytest.mark.asyncio
@pytest.mark.parametrize("members", [False, True])
async def test_login_syncs_commands_and_caches_the_guild(members: bool) -> None:
    async with session(members=members) as (fake, bot):
        assert bot.user is not None and str(bot.user.id) == fake.bot_id
        guild = bot.get_guild(int(fake.guild_id))
        assert guild is not None and guild.member_count == 4 and guild.me is not None
        assert len(guild.members) == (4 if members else 1)
        assert guild.chunked is members  # all members arrived: no chunk request (op 8)
        assert bot.get_channel(int(fake.channel_id)) is not None
        fetched = await bot.fetch_channel(int(fake.channel_id))
        assert isinstance(fetched, discord.TextChannel) and fetched.name == "general"
        registered = {c["name"]: c for c in fake.commands[None]}
        assert set(registered) == {c.name for c in bot.synced}
        assert {str(c.id) for c in bot.synced} == {c["id"] for c in registered.values()}
        assert registered["admin"]["default_member_permissions"] == "32"
        assert _statuses(fake, "PUT", "/commands") == [200]
        fake.assert_clean()
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


@pytest.mark.asyncio
async def test_running_bot_restores_globals_when_login_fails() -> None:
    fake = FakeDiscord(token="right")
    await fake.start()
    try:
        with pytest.raises(discord.LoginFailure):
            async with running_bot(TinyBot(), fake, token="wrong"):
                pytest.fail("must not get here")
    finally:
        await fake.stop()
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


@pytest.mark.asyncio
async def test_mention_gets_reaction_typing_and_reply_and_reply_to_bot_is_resolved() -> None:
    async with session() as (fake, _):
        asked = await fake.send_user_message("hello", mention_bot=True, author="bob")
        reply = await asked.message()
        assert (reply.kind, reply.content) == ("channel", "you said: hello")
        assert reply.message_reference is not None
        assert reply.message_reference["message_id"] == asked.id
        assert reply.allowed_mentions is not None
        assert reply.allowed_mentions["replied_user"] is False
        assert fake.reactions[asked.id] == ["👀"]
        assert _statuses(fake, "POST", "/typing") == [204]

        answered = await fake.send_user_message("thanks", reply_to=reply.id, author="bob")
        second = await answered.message()
        assert second.content == "you replied to me: thanks"
        fake.assert_clean()


@pytest.mark.asyncio
async def test_without_message_content_intent_only_mentions_have_content() -> None:
    async with session(message_content=False) as (fake, bot):
        seen = asyncio.create_task(bot.wait_for("message", timeout=5))
        await fake.send_user_message("secret")
        assert (await seen).content == ""
        seen = asyncio.create_task(bot.wait_for("message", timeout=5))
        await fake.send_user_message("visible", mention_bot=True)
        assert (await seen).content.endswith("visible")
        await fake.wait_for_message(lambda m: m.content == "you said: visible")
        fake.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize("private", [False, True])
async def test_slash_defer_then_followup_fills_the_thinking_message(private: bool) -> None:
    async with session() as (fake, _):
        exchange = await fake.invoke_slash("ask", {"question": "why?", "private": private})
        response = await exchange.response()
        assert response["type"] == 5
        assert bool((response.get("data") or {}).get("flags", 0) & 64) is private
        answer = await exchange.message()
        assert (answer.kind, answer.content, answer.ephemeral) == (
            "followup",
            "answer to why?",
            private,
        )
        assert answer.interaction_id == exchange.id
        fake.assert_clean()


@pytest.mark.asyncio
async def test_reply_then_edit_original_response() -> None:
    async with session() as (fake, _):
        exchange = await fake.invoke_slash("progress")
        edited = await exchange.message(lambda m: m.kind == "original_edit")
        first = fake.messages[0]
        assert (first.kind, first.content, first.id) == ("interaction", "working…", edited.id)
        assert edited.content == f"done with {first.id}"  # the callback reported the message id
        fake.assert_clean()


@pytest.mark.asyncio
async def test_first_followup_after_defer_keeps_the_deferrals_visibility() -> None:
    async with session() as (fake, _):
        exchange = await fake.invoke_slash("mixed")
        second = await exchange.message(lambda m: m.content == "really private")
        first = fake.messages[0]
        assert (first.content, first.ephemeral) == ("meant to be private", False)
        assert second.ephemeral and second.id != first.id
        fake.assert_clean()


@pytest.mark.asyncio
async def test_ephemeral_reply_and_option_validation() -> None:
    async with session() as (fake, _):
        echoed = await (await fake.invoke_slash("echo", {"text": "psst"})).message()
        assert (echoed.kind, echoed.content, echoed.ephemeral) == ("interaction", "psst", True)
        dm_echo = await fake.invoke_slash("echo", {"text": "dm"}, guild=False)
        in_dm = await dm_echo.message()
        assert (in_dm.content, in_dm.ephemeral) == ("dm", True)
        assert in_dm.channel_id not in (fake.channel_id, echoed.channel_id)
        doubled = await (await fake.invoke_slash("double", {"n": 4})).message()
        assert (doubled.content, doubled.ephemeral) == ("8", False)
        for bad in ({"n": "4"}, {"n": 11}, {"n": True}, {}, {"n": 2, "extra": 1}):
            with pytest.raises(ValueError):
                await fake.invoke_slash("double", bad)
        with pytest.raises(ValueError, match="not registered"):
            await fake.invoke_slash("nope")
        with pytest.raises(ValueError, match="default_member_permissions"):
            await fake.invoke_slash("admin")
        assert (await (await fake.invoke_slash("admin", permissions="32")).message()).content
        fake.assert_clean()


@pytest.mark.asyncio
async def test_autocomplete_returns_the_bots_choices() -> None:
    async with session() as (fake, _):
        choices = await fake.autocomplete("pick", "fruit", "ap")
        assert choices == [
            {"name": "apple", "value": "apple"},
            {"name": "apricot", "value": "apricot"},
        ]
        assert await fake.autocomplete("pick", "fruit", "zz") == []
        fake.assert_clean()


@pytest.mark.asyncio
async def test_button_click_updates_the_message() -> None:
    async with session() as (fake, bot):
        # The fake records the reply before discord.py has registered the view from its
        # response; a user cannot click that fast, so wait until the command has completed.
        completed = asyncio.create_task(bot.wait_for("app_command_completion", timeout=5))
        question = await (await fake.invoke_slash("vote")).message()
        await completed
        assert question.components[0]["components"][0]["custom_id"] == "vote:yes"
        with pytest.raises(ValueError):
            await fake.click_button(question.id, "vote:no")
        click = await fake.click_button(question.id, "vote:yes", user="carol")
        update = await click.message()
        assert (update.kind, update.id, update.content) == (
            "update",
            question.id,
            "carol voted yes",
        )
        assert update.components == []
        with pytest.raises(ValueError):  # the button is gone now
            await fake.click_button(question.id, "vote:yes")
        fake.assert_clean()


@pytest.mark.asyncio
async def test_thread_and_dm() -> None:
    async with session() as (fake, bot):
        created = asyncio.create_task(bot.wait_for("thread_create", timeout=5))
        started = await fake.send_user_message("thread", mention_bot=True)
        in_thread = await started.message()
        assert (in_thread.channel_id, in_thread.content) == (started.id, "in thread")
        assert (await created).id == int(started.id)

        await (await fake.send_user_message("dm me", mention_bot=True, author="bob")).message()
        dm_reply = await (await fake.send_user_message("hi", dm=True, author="bob")).message()
        assert dm_reply.content == "you said: hi"
        dms = {m.channel_id for m in fake.messages if m.content in ("psst", "you said: hi")}
        assert len(dms) == 1 and fake.channel_id not in dms
        fake.assert_clean()


def _button_view(label: str, custom_id: str) -> discord.ui.View:
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label=label, custom_id=custom_id))
    return view


def _link_view(url: str) -> discord.ui.View:
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="open", url=url))
    return view


OVER_LIMIT: list[tuple[dict[str, Any], str]] = [
    ({"content": "x" * 2001}, "content"),
    ({"embed": discord.Embed(title="t" * 257)}, "embeds.0.title"),
    ({"embed": discord.Embed(description="d" * 4097)}, "embeds.0.description"),
    ({"embeds": [discord.Embed(description="d" * 4000)] * 2}, "embeds: Embed size"),
    ({"embed": discord.Embed().add_field(name="", value="v")}, "embeds.0.fields.0.name"),
    ({"embed": discord.Embed().add_field(name="n", value="v" * 1025)}, "embeds.0.fields.0.value"),
    ({"embed": discord.Embed().set_footer(text="f" * 2049)}, "embeds.0.footer.text"),
    ({"view": _button_view("l" * 81, "ok")}, "components.0.components.0.label"),
    ({"view": _button_view("ok", "c" * 101)}, "components.0.components.0.custom_id"),
    ({"view": _link_view("https://a.example/" + "a" * 495)}, "components.0.components.0.url"),
    ({"view": _link_view("javascript:alert(1)")}, "components.0.components.0.url"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("kwargs", "field"), OVER_LIMIT)
async def test_over_limit_message_is_rejected_and_flagged(
    kwargs: dict[str, Any], field: str
) -> None:
    async with session() as (fake, bot):
        channel = bot.get_channel(int(fake.channel_id))
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as raised:
            await channel.send(**kwargs)
        assert raised.value.status == 400 and raised.value.code == 50035
        assert len(fake.violations) == 1 and f": {field}" in fake.violations[0]
        assert fake.messages == []


@pytest.mark.asyncio
async def test_unknown_endpoint_is_recorded() -> None:
    async with session() as (fake, bot):
        channel = bot.get_channel(int(fake.channel_id))
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.NotFound):
            await channel.fetch_message(1)  # a known route, an unknown message: not a violation
        assert fake.unknown_requests == []
        with pytest.raises(discord.NotFound):
            _ = [message async for message in channel.pins()]
        assert fake.unknown_requests == [f"GET /channels/{fake.channel_id}/messages/pins"]
        with pytest.raises(AssertionError):
            fake.assert_clean()


@pytest.mark.asyncio
async def test_second_initial_response_is_flagged() -> None:
    async with session() as (fake, bot):
        exchange = await fake.invoke_slash("twice")
        assert (await exchange.message()).content == "first"
        assert await asyncio.wait_for(bot.http_errors.get(), 5) == 400
        assert len(fake.violations) == 1 and "second initial response" in fake.violations[0]
        assert [m.content for m in fake.messages] == ["first"]


@pytest.mark.asyncio
async def test_missing_initial_response_is_flagged_and_late_one_fails() -> None:
    async with session(interaction_deadline=0.2) as (fake, bot):
        exchange = await fake.invoke_slash("slow")
        await fake.wait_until(lambda: fake.violations)
        assert fake.violations == [
            f"interaction {exchange.id} (slow) got no initial response within 0.2s"
        ]
        bot.release.set()
        assert await asyncio.wait_for(bot.http_errors.get(), 5) == 404
        assert fake.messages == []


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [429, 500])
async def test_rate_limit_and_server_error_are_retried(status: int) -> None:
    async with session() as (fake, _):
        fake.fail_next(r"POST /channels/\d+/messages", status=status)
        reply = await (await fake.send_user_message("hi", mention_bot=True)).message(timeout=10)
        assert reply.content == "you said: hi"
        assert _statuses(fake, "POST", "/messages") == [status, 200]
        fake.assert_clean()


@pytest.mark.asyncio
async def test_gateway_disconnect_resumes_and_replays_missed_events() -> None:
    async with session() as (fake, bot):
        resumed = asyncio.create_task(bot.wait_for("resumed", timeout=5))
        await fake.disconnect_gateway(4000)
        exchange = await fake.send_user_message("still there?", mention_bot=True)
        assert (await exchange.message()).content == "you said: still there?"
        await resumed
        assert (fake.identify_count, fake.resume_count) == (1, 1)
        fake.assert_clean()


@pytest.mark.asyncio
async def test_invalidated_session_identifies_again() -> None:
    async with session() as (fake, bot):
        ready_again = asyncio.create_task(bot.wait_for("ready", timeout=5))
        fake.invalidate_session_next()
        await fake.disconnect_gateway(4000)
        await ready_again
        assert (fake.identify_count, fake.resume_count) == (2, 0)
        reply = await (await fake.send_user_message("back?", mention_bot=True)).message()
        assert reply.content == "you said: back?"
        fake.assert_clean()


@pytest.mark.asyncio
async def test_heartbeats_are_on_time_until_the_event_loop_blocks() -> None:
    async with session(heartbeat_interval_ms=100) as (fake, bot):
        await fake.wait_until(lambda: len(fake.heartbeats) >= 4)
        assert fake.late_heartbeats() == []
        assert min(fake.heartbeat_gaps()) > 0.05
        assert bot.latency < 1  # every heartbeat was acknowledged

        count = len(fake.heartbeats)
        done: BotMessage = await (await fake.invoke_slash("block")).message()
        assert done.content == "done"
        await fake.wait_until(lambda: len(fake.heartbeats) >= count + 2)
        assert [gap for gap in fake.late_heartbeats() if gap > 0.5]
        fake.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("denied", "code"),
    [(VIEW_CHANNEL, 50001), (SEND_MESSAGES, 50013), (READ_MESSAGE_HISTORY, 160002)],
)
async def test_channel_permissions_refuse_with_discords_codes(denied: int, code: int) -> None:
    async with session() as (fake, bot):
        asked = await fake.send_user_message("hello", mention_bot=True)
        await asked.message()
        channel = bot.get_channel(int(fake.channel_id))
        assert isinstance(channel, discord.TextChannel)
        updated = asyncio.ensure_future(bot.wait_for("guild_channel_update", timeout=5))
        await fake.deny_bot(denied)
        await updated
        assert not getattr(channel.permissions_for(channel.guild.me), PERMISSION_NAMES[denied])
        question = channel.get_partial_message(int(asked.id)) if denied != VIEW_CHANNEL else None
        with pytest.raises(discord.Forbidden) as raised:
            if question is not None:
                await question.reply("answer")
            else:
                await channel.send("answer")
        assert raised.value.code == code


@pytest.mark.asyncio
async def test_system_messages_arrive_with_their_type() -> None:
    async with session() as (fake, bot):
        received = asyncio.ensure_future(bot.wait_for("message", timeout=5))
        await fake.send_system_message(6)
        message = await received
        assert message.type is discord.MessageType.pins_add and message.is_system()


@pytest.mark.asyncio
async def test_message_content_intent_not_enabled_closes_with_4014() -> None:
    fake = FakeDiscord()
    fake.gateway.allowed_intents = ~MESSAGE_CONTENT
    await fake.start()
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_bot(TinyBot(message_content=True), fake):
                pass
    finally:
        await fake.stop()
    assert fake.identify_count == 0, "closed at IDENTIFY"


@pytest.mark.asyncio
async def test_commands_synced_to_a_guild_the_bot_is_not_in_are_refused() -> None:
    async with session() as (_, bot):
        with pytest.raises(discord.Forbidden) as raised:
            await bot.tree.sync(guild=discord.Object(123456789012345678))
        assert raised.value.code == 50001


@pytest.mark.asyncio
async def test_a_forum_post_is_a_thread_opened_with_its_first_message() -> None:
    async with session() as (fake, bot):
        forum_id = await fake.add_forum("questions")
        post = await fake.open_forum_post(forum_id, "Fruit", "thread", mention_bot=False)
        assert post.event["channel_id"] == post.id, "the first message has the post's id"
        asked = await fake.open_forum_post(forum_id, "Hello", "hi", author="bob", mention_bot=True)
        reply = await asked.message()
        assert (reply.channel_id, reply.content) == (asked.id, "you said: hi")
        forum = bot.get_channel(int(forum_id))
        thread = bot.get_channel(int(asked.id))
        assert isinstance(forum, discord.ForumChannel) and isinstance(thread, discord.Thread)
        assert thread.parent_id == forum.id and thread.owner_id == int(fake.users["bob"]["id"])
        with pytest.raises(discord.HTTPException) as raised:
            await bot.http.send_message(forum.id, params=discord.http.MultipartParameters(
                payload={"content": "x"}, multipart=None, files=None))  # fmt: skip
        assert raised.value.code == 50008
        fake.assert_clean()


@pytest.mark.asyncio
async def test_links_get_previews_unless_suppressed_and_markup_is_seen() -> None:
    async with session() as (fake, bot):
        channel = bot.get_channel(int(fake.channel_id))
        assert isinstance(channel, discord.TextChannel)
        text = (
            "join https://discord.gg/abc, see <https://a.example> and `https://b.example` <t:1:R>"
        )
        await channel.send(text)
        assert fake.messages[-1].previews == ["https://discord.gg/abc"]
        assert fake.messages[-1].live_markup == ["<t:1:R>"]
        await channel.send(text, suppress_embeds=True, embed=discord.Embed(title="<:e:1>"))
        assert fake.messages[-1].previews == [] and fake.messages[-1].embeds == []
        fake.assert_clean()


TEAM = {"bob": "admin", "carol": "developer", "alice": "read_only"}


@pytest.mark.asyncio
@pytest.mark.parametrize(("team", "owners"), [(None, {"alice"}), (TEAM, {"bob", "carol"})])
async def test_the_application_owner_or_its_team(
    team: dict[str, str] | None, owners: set[str]
) -> None:
    fake = FakeDiscord()
    fake.team = team
    await fake.start()
    try:
        async with running_bot(TinyBot(), fake) as bot:
            found = set()
            for name, user in fake.users.items():
                if await bot.is_owner(discord.Object(int(user["id"]))):  # type: ignore[arg-type]
                    found.add(name)
            assert found == owners
    finally:
        await fake.stop()


@pytest.mark.asyncio
async def test_a_fetched_message_needs_history_and_shows_content_as_the_gateway_does() -> None:
    async with session(message_content=False) as (fake, bot):
        quiet = await fake.send_user_message("secret")
        loud = await fake.send_user_message("hello", mention_bot=True)
        await loud.message()
        channel = bot.get_channel(int(fake.channel_id))
        assert isinstance(channel, discord.TextChannel)
        assert (await channel.fetch_message(int(quiet.id))).content == ""
        assert (await channel.fetch_message(int(loud.id))).content.endswith("hello")
        await fake.deny_bot(READ_MESSAGE_HISTORY)
        with pytest.raises(discord.Forbidden) as raised:
            await channel.fetch_message(int(quiet.id))
        assert raised.value.code == 50001


@pytest.mark.asyncio
async def test_two_clients_on_one_shard_both_get_its_events_and_split_shards_do_not() -> None:
    """Discord sends a shard's events to every session identified on it: two processes
    connected to the same shard both answer; processes on different shards split them (a
    server's events go to its shard, (guild_id >> 22) % shards, DMs to shard 0)."""
    fake = FakeDiscord()
    await fake.start()
    try:
        async with running_bot(TinyBot(), fake), running_bot(TinyBot(), fake):
            asked = await fake.send_user_message("twice?", mention_bot=True)
            await fake.wait_until(lambda: len(fake.messages) == 2)
            assert fake.gateway.deliveries("MESSAGE_CREATE", asked.id) == [0, 0]
        ours = (int(fake.guild_id) >> 22) % 2
        async with (
            running_bot(TinyBot(shard_id=0, shard_count=2), fake),
            running_bot(TinyBot(shard_id=1, shard_count=2), fake),
        ):
            assert fake.gateway.shards == [0, 1]
            in_guild = await fake.send_user_message("once?", mention_bot=True)
            in_dm = await fake.send_user_message("once?", dm=True)
            await in_guild.message(lambda m: m.channel_id == fake.channel_id)
            await in_dm.message(lambda m: m.channel_id == in_dm.event["channel_id"])
            assert fake.gateway.deliveries("MESSAGE_CREATE", in_guild.id) == [ours]
            assert fake.gateway.deliveries("MESSAGE_CREATE", in_dm.id) == [0]
        fake.assert_clean()
    finally:
        await fake.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("channel_type", [VOICE_CHANNEL, STAGE_CHANNEL])
async def test_a_voice_or_stage_channels_text_chat_takes_messages_not_threads(
    channel_type: int,
) -> None:
    async with session() as (fake, bot):
        created = asyncio.ensure_future(bot.wait_for("guild_channel_create", timeout=5))
        channel_id = await fake.add_channel("lounge", channel_type)
        assert isinstance(await created, discord.VoiceChannel | discord.StageChannel)
        received = asyncio.ensure_future(bot.wait_for("message", timeout=5))
        asked = await fake.send_user_message("hello", channel_id=channel_id, mention_bot=True)
        message = await received
        assert isinstance(message.channel, discord.VoiceChannel | discord.StageChannel)
        reply = await asked.message()
        assert reply.channel_id == channel_id and reply.content == "you said: hello"
        with pytest.raises(discord.HTTPException) as raised:
            await message.create_thread(name="Discussion")
        assert (raised.value.status, raised.value.code) == (400, 50024)
        fake.assert_clean()
