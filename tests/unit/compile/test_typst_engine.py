"""The Typst engine's pure parts: the page count and overflow from the `<rb-layout>` marker a
Typst template ends with, and a source that names no template of the engine's."""

import pytest

from compile_service.typesetting.engine import EngineUnavailable, Overflow
from compile_service.typesetting.typst import Layout, Typst, overflow_of

A4 = {"page-height": 841.9, "top": 34.0, "bottom": 34.0}  # text area 773.9 pt high


def layout(pages: int, end_page: int, end_y: float) -> Layout:
    return Layout.from_marker({"pages": pages, "end-page": end_page, "end-y": end_y, **A4})


def test_content_that_ends_on_the_first_page_fits() -> None:
    assert overflow_of(layout(1, 1, 700.0)) == Overflow(overflowed=False)


def test_content_on_a_second_page_is_past_by_its_height_there() -> None:
    assert overflow_of(layout(2, 2, 134.0)) == Overflow(True, extra_pages=1, past_pt=100.0)


def test_each_full_page_in_between_counts_as_one_text_area() -> None:
    assert overflow_of(layout(3, 3, 84.0)) == Overflow(True, extra_pages=2, past_pt=823.9)


def test_a_marker_with_a_value_that_is_no_number_is_refused() -> None:
    with pytest.raises(ValueError):
        Layout.from_marker({"pages": "2", "end-page": 1, "end-y": 1.0, **A4})
    with pytest.raises(KeyError):
        Layout.from_marker({"pages": 1})


@pytest.mark.parametrize("source", ['{"template": {"name": "nope"}}', "{}", "not json", "[]"])
async def test_a_source_naming_no_template_of_the_engine_is_the_operators_problem(
        source: str) -> None:
    engine = Typst({})
    with pytest.raises(EngineUnavailable, match="no Typst template"):
        await engine.compile(source)
    engine.close()
