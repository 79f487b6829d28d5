"""Template manifests: the `template.toml` beside a Typst template's `main.typ` names the
engine that runs it, says whether it is meant for one page and which fonts it needs, and
declares the options a compile may set, each with its default and its bounds:

    engine = "typst"
    description = "..."
    one_page = true
    fonts = ["DejaVu Sans"]
    [options.accent]     kind = "color",  default = "#1f3a5f"
    [options.font_size]  kind = "number", unit = "pt", default = 10, min = 8, max = 14
    [options.paper]      kind = "choice", default = "a4", choices = ["a4", "letter"]
    [scripts]            Latn = [], Arab = ["Amiri"], Hebr = ["Frank Ruehl CLM"]

`fonts` are the families the template names, and `scripts` the writing systems it can show
(ISO 15924 codes; Latin alone when absent), each with the fonts put before the template's own
for it: the engine refuses to run a template without every one of them (Typst would quietly
fall back to another font). A resume whose locale is written in a script the template does
not list is refused (UnsupportedLocale, a 422 `unsupported_locale`); the LaTeX templates show Latin
alone (`LATEX_SCRIPTS`). `resolve_options` checks what a request
asks for against the declaration and fills in the defaults: the template only ever sees
declared names with valid values (options reach it as data, like the resume)."""

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from compile_service.domain import InvalidOptions, UnsupportedLocale
from compile_service.locales import LATIN, RTL_SCRIPTS, Language

HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
SCRIPT_CODE = r"^[A-Z][a-z]{3}$"
OptionValue = str | float


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColorOption(_Frozen):
    kind: Literal["color"]
    default: str = Field(pattern=HEX_COLOR, description="#rrggbb")

    def check(self, value: object) -> str:
        if not isinstance(value, str) or not re.match(HEX_COLOR, value):
            raise ValueError("a colour as #rrggbb")
        return value.lower()


class NumberOption(_Frozen):
    kind: Literal["number"]
    unit: Literal["pt", "mm"]
    default: float
    min: float
    max: float

    @model_validator(mode="after")
    def _default_in_bounds(self) -> Self:
        if not self.min <= self.default <= self.max:
            raise ValueError(f"default {self.default} outside [{self.min}, {self.max}]")
        return self

    def check(self, value: object) -> float:
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or not self.min <= value <= self.max):
            raise ValueError(f"a number of {self.unit} from {self.min:g} to {self.max:g}")
        return float(value)


class ChoiceOption(_Frozen):
    kind: Literal["choice"]
    default: str
    choices: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_is_a_choice(self) -> Self:
        if self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of {self.choices}")
        return self

    def check(self, value: object) -> str:
        if value not in self.choices:
            raise ValueError("one of " + ", ".join(self.choices))
        return str(value)


Option = Annotated[ColorOption | NumberOption | ChoiceOption, Field(discriminator="kind")]


Scripts = Mapping[str, tuple[str, ...]]  # ISO 15924 code -> the fonts put first for it
LATEX_SCRIPTS: Scripts = {LATIN: ()}  # pdflatex with T1 fonts: no right-to-left, no Cyrillic


class Manifest(_Frozen):
    engine: Literal["typst"]
    description: str
    one_page: bool = False
    fonts: tuple[str, ...] = ()
    options: dict[str, Option] = Field(default_factory=dict)
    scripts: dict[Annotated[str, Field(pattern=SCRIPT_CODE)], tuple[str, ...]] = Field(
        default_factory=lambda: dict(LATEX_SCRIPTS))

    def all_fonts(self) -> tuple[str, ...]:
        """Every family it names: its own and those of its scripts."""
        return tuple(dict.fromkeys((*self.fonts, *(f for fs in self.scripts.values()
                                                    for f in fs))))


class LanguageSupport(_Frozen):
    """What GET /compile/templates says of a template's languages."""

    scripts: tuple[str, ...] = Field(description="The writing systems it shows (ISO 15924: "
                                     "Latn, Cyrl, Grek, Arab, Hebr); a resume whose locale "
                                     "is written in another is a 422 `unsupported_locale`.")
    right_to_left: bool = Field(description="Whether it lays out right-to-left locales "
                                "(Arabic, Hebrew, Persian, ...).")

    @classmethod
    def of(cls, scripts: Scripts) -> "LanguageSupport":
        return cls(scripts=tuple(scripts), right_to_left=bool(set(scripts) & RTL_SCRIPTS))


def unsupported_locale(template: str, engine: str, language: Language,
                       able: list[str]) -> UnsupportedLocale:
    """The refusal of a locale whose script a template does not list; `able` names the
    templates that list it."""
    written = f"{language.script}, right to left" if language.rtl else language.script
    return UnsupportedLocale(language.tag, template,
                             f"its script ({written}) is not one it shows with {engine}", able)


def read_manifest(path: Path) -> Manifest:
    return Manifest.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))


def resolve_options(declared: Mapping[str, Option],
                    asked: Mapping[str, object] | None) -> dict[str, OptionValue]:
    """Every declared option, as asked or by default; InvalidOptions names each option that
    is not declared or whose value is out of its bounds."""
    asked = asked or {}
    problems = [f"{name}: no such option" for name in asked if name not in declared]
    resolved: dict[str, OptionValue] = {}
    for name, option in declared.items():
        if name not in asked:
            resolved[name] = option.default
            continue
        try:
            resolved[name] = option.check(asked[name])
        except ValueError as error:
            problems.append(f"{name}: expected {error}")
    if problems:
        raise InvalidOptions(problems)
    return resolved
