"""Template manifests and the options a compile may set: declared names only, values within
their bounds, defaults filled in."""

import pytest
from pydantic import ValidationError

from compile_service.domain import InvalidOptions
from compile_service.manifests import Manifest, resolve_options

MANIFEST = Manifest.model_validate({
    "engine": "typst", "description": "test", "one_page": True,
    "options": {
        "accent": {"kind": "color", "default": "#1F3A5F"},
        "font_size": {"kind": "number", "unit": "pt", "default": 10, "min": 8, "max": 14},
        "paper": {"kind": "choice", "default": "a4", "choices": ["a4", "letter"]},
    }})


def test_nothing_asked_gives_every_default() -> None:
    assert resolve_options(MANIFEST.options, None) == {
        "accent": "#1F3A5F", "font_size": 10, "paper": "a4"}


def test_asked_values_are_checked_and_normalised() -> None:
    resolved = resolve_options(MANIFEST.options,
                               {"accent": "#AABBCC", "font_size": 12, "paper": "letter"})
    assert resolved == {"accent": "#aabbcc", "font_size": 12.0, "paper": "letter"}
    assert isinstance(resolved["font_size"], float)  # 12 and 12.0 make the same source


@pytest.mark.parametrize("asked, problem", [
    ({"colour": "#000000"}, "colour: no such option"),
    ({"accent": "red"}, "accent: expected a colour as #rrggbb"),
    ({"accent": "#12345"}, "accent: expected a colour as #rrggbb"),
    ({"accent": "#123456); eval(x"}, "accent: expected a colour as #rrggbb"),
    ({"font_size": 30}, "font_size: expected a number of pt from 8 to 14"),
    ({"font_size": "10"}, "font_size: expected a number of pt"),
    ({"font_size": True}, "font_size: expected a number of pt"),
    ({"font_size": float("nan")}, "font_size: expected a number of pt"),
    ({"paper": "a3"}, "paper: expected one of a4, letter"),
])
def test_undeclared_or_out_of_bounds_options_are_refused(asked: dict[str, object],
                                                          problem: str) -> None:
    with pytest.raises(InvalidOptions) as refused:
        resolve_options(MANIFEST.options, asked)
    assert refused.value.problems[0].startswith(problem)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidOptions) as refused:
        resolve_options(MANIFEST.options, {"x": 1, "paper": "a3", "font_size": 1})
    assert len(refused.value.problems) == 3


def test_no_declared_options_refuses_any_asked() -> None:
    assert resolve_options({}, None) == {}
    with pytest.raises(InvalidOptions):
        resolve_options({}, {"accent": "#000000"})


@pytest.mark.parametrize("option", [
    {"kind": "number", "unit": "pt", "default": 20, "min": 8, "max": 14},
    {"kind": "choice", "default": "a3", "choices": ["a4"]},
    {"kind": "color", "default": "blue"},
    {"kind": "color", "default": "#000000", "extra": 1},
    {"kind": "length", "default": 1},
])
def test_a_manifest_with_a_bad_declaration_does_not_load(option: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Manifest.model_validate({"engine": "typst", "description": "x",
                                 "options": {"o": option}})
