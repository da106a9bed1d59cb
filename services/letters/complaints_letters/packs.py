"""TEMPORARY (replaced by the packs branch): the built-in templates only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound, select_autoescape


def long_date(value: date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def money(value: Any) -> str:
    return f"£{float(value):,.2f}"


@dataclass(frozen=True)
class Rendered:
    html: str
    template: str
    source: str


class TemplatePacks:
    def __init__(self, settings: Any) -> None:
        self.env = Environment(
            loader=PackageLoader("complaints_letters", "templates"),
            autoescape=select_autoescape(["html", "j2"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["long_date"] = long_date
        self.env.filters["money"] = money

    def render(
        self,
        name: str,
        context: dict,
        organisation: str,
        directorate: str,
        variant: str = "standard",
    ) -> Rendered:
        try:
            template = self.env.get_template(f"{name}.{variant}.html.j2")
        except TemplateNotFound:
            template = self.env.get_template(f"{name}.html.j2")
        return Rendered(template.render(**context), template.name or name, "standard")
