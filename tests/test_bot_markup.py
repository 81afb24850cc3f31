"""Article text shown in Discord stays text: no timestamp, emoji, command or channel link,
mention or markdown of an article comes alive in a reply or an embed, and no link quoted from an
article gets a preview (an invite link would become a live invite card)."""

from __future__ import annotations

import pytest

from bot.format import EMBED_TITLE_LIMIT, inert, safe
from index.build import build_index
from index.config import Settings
from index.engine import Engine
from tests.support.botkit import CITATION_ID, button_id, citebot
from tests.support.discord_fake.payloads import live_markup
from tests.support.embedder import FakeEmbedder

pytestmark = pytest.mark.slow

LIVE_FORMS = (
    "<t:1700000000:R>",
    "<t:1700000000>",
    "<:party:123456789012345678>",
    "<a:wave:123456789012345678>",
    "</signup:123456789012345678>",
    "</club picnic:123456789012345678>",
    "<id:customize>",
    "<id:linked-roles:1>",
    "<#123456789012345678>",
    "<@123>",
    "<@!123>",
    "<@&456>",
    "@everyone",
    "@here",
)
PICNIC = """**Picnic** <t:1700000000:R> news <:party:123456789012345678>

The club picnic starts <t:1700000000:R> at the lake, the secretary said \
<:party:123456789012345678> <a:wave:123456789012345678>.

Members sign up for the club picnic with </signup:123456789012345678> or in <id:customize> \
and <#123456789012345678>.

The club picnic invite is https://discord.gg/abcdef and the photos are at \
https://example.com/picnic for everyone.
"""


@pytest.mark.parametrize("form", LIVE_FORMS)
def test_every_live_form_is_shown_as_text(form: str) -> None:
    assert live_markup(form) == [form], "the fake knows the form"
    shown = safe(f"before {form} after")
    assert live_markup(shown) == []
    assert shown.replace("\u200b", "") == f"before {form} after", "the same characters"


def test_titles_are_made_inert_within_the_embed_limit() -> None:
    title = "**Picnic** <t:1700000000:R> " + "<:party:123456789012345678> " * 20
    shown = inert(title, EMBED_TITLE_LIMIT)
    assert len(shown) <= EMBED_TITLE_LIMIT and shown.endswith("…")
    assert shown.startswith("\\*\\*Picnic\\*\\*") and live_markup(shown) == []
    assert inert("*" * 300, EMBED_TITLE_LIMIT).endswith("\\*…"), "no escape cut in two"


@pytest.fixture(scope="module")
def picnic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Engine]:
    root = tmp_path_factory.mktemp("picnic")
    (root / "corpus").mkdir()
    (root / "corpus" / "picnic.txt").write_text(PICNIC, "utf-8")
    settings = Settings(_env_file=None, index_dir=root / "index")  # type: ignore[call-arg]
    build_index([root / "corpus"], settings, embedder=FakeEmbedder())
    return settings, Engine(settings, embedder=FakeEmbedder())


async def test_article_markup_and_links_stay_text_everywhere(
    picnic: tuple[Settings, Engine],
) -> None:
    settings, engine = picnic
    async with citebot(settings, engine) as (fake, _):
        shown = []
        for question in ("when does the club picnic start?", "where is the club picnic invite?"):
            asked = await fake.send_user_message(question, mention_bot=True)
            answer = await asked.message(timeout=30)
            await fake.until_handled(asked)
            assert "club picnic" in answer.content
            shown.append(answer)
        assert "https://discord.gg/abcdef" in shown[1].content, "the link is quoted..."
        passages = await (
            await fake.click_button(shown[0].id, button_id(shown[0], "passages"))
        ).message(lambda m: bool(m.embeds))
        found = await (await fake.invoke_slash("search", {"query": "club picnic"})).message()
        citation = CITATION_ID.search(found.content)
        assert citation is not None
        source = await (await fake.invoke_slash("source", {"id": citation.group(1)})).message()
        choices = await fake.autocomplete("article", "title", "picnic")
        article = await (
            await fake.invoke_slash("article", {"title": choices[0]["value"]})
        ).message()
        shown += [passages, found, source, article]
        for message in shown:
            assert message.live_markup == [], (message.kind, message.live_markup)
            assert message.previews == [], "...but previews of none"
        for message in (passages, source, article):
            assert message.embeds[0]["title"].startswith("\\*\\*Picnic\\*\\*")
