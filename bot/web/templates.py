"""The pages' templates (`templates/`): Jinja, autoescaping every value (article text is
untrusted HTML) and failing on an undefined name rather than showing nothing."""

from __future__ import annotations

import jinja2
from starlette.templating import Jinja2Templates

from bot.text import SEVERAL_PEOPLE, web_link
from index.records import ABSTAIN_MESSAGE


def page_templates(max_question_chars: int) -> Jinja2Templates:
    """The templates, with what every page may show: the longest question the form takes,
    what citebot says when it abstains or a name belongs to several people, and the one
    test of a link that may be followed (`web_link`: http and https only)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        max_question_chars=max_question_chars,
        abstain_message=ABSTAIN_MESSAGE,
        several_people=SEVERAL_PEOPLE,
        web_link=web_link,
    )
    return Jinja2Templates(env=environment)
