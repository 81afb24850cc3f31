"""A link to another story, printed as a label run into its headline ("More:Trump extends
exemptions ..."), is not the article's text: cleaning drops it, and nothing else."""

from __future__ import annotations

import pytest

from index.clean import clean_body


@pytest.mark.parametrize(
    "link",
    [
        "More:Trump extends exemptions on steel, aluminum tariffs",
        "SAVE MONEY:How to save money at the pump as gas prices hit all-time high",
        "Holiday season:'The earlier, the better': FedEx exec dishes tips for retailers",
        "Trainers to beat:Todd Pletcher and Brad Cox’s varied paths to top, Kentucky Derby 2023",
        "2023 Kentucky Derby winner:Mage, who had 16-1 odds, pulls ahead to win the Derby",
        "2019:Corrections & Clarifications",
    ],
)
def test_a_related_story_link_between_paragraphs_is_dropped(link: str) -> None:
    cleaned = clean_body(f"The storm hit on Monday.\n\n{link}\n\nPower was out for days.")
    assert cleaned.text == "The storm hit on Monday.\n\nPower was out for days."
    assert cleaned.removed == {"related-story-link": 1}


@pytest.mark.parametrize(
    "paragraph",
    [
        "The meeting starts at 10:30 and ends at noon.",
        "10:30 Opening remarks by the mayor",
        "2 Corinthians 4:8 is her favourite verse.",
        "He said: The vote is final.",
        "See https://example.com/story for more.",
        "Washington: Could the 14th Amendment solve the debt limit standoff?",
        "Score:" + "A" * 400,
    ],
)
def test_text_with_a_colon_stays(paragraph: str) -> None:
    cleaned = clean_body(paragraph)
    assert cleaned.text == paragraph
    assert not cleaned.removed
