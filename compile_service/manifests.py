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

`fonts` are the families the template names: the engine refuses to run it without them
(Typst would quietly fall back to another font). `resolve_options` checks what a request
asks for against the declaration and fills in the defaults: the template only ever sees
declared names with valid values (options reach it as data, like the resume)."""

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from compile_service.domain import InvalidOptions

HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
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


class Manifest(_Frozen):
    engine: Literal["typst"]
    description: str
    one_page: bool = False
    fonts: tuple[str, ...] = ()
    options: dict[str, Option] = Field(default_factory=dict)


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
