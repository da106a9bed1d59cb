"""Letter templates: packs installed as plugins, and a council's own files on top.

A **pack** is a folder of jinja2 templates that a distribution registers under the
``complaints.letter_templates`` entry point group (the value names a folder: a path, an
``importlib.resources`` Traversable, or a function returning either). This
distribution registers the built-in pack, ``standard``. A council that wants its own
words for every deployment installs a distribution of its own with a pack; one that
only wants to change a letter or its letterhead drops files in the **override folder**
(``COMPLAINTS_LETTERS_TEMPLATES_DIR``), with no code at all.

Where a template file is taken from, first found wins:

1. ``<dir>/<organisation>/<directorate>/<file>``
2. ``<dir>/<organisation>/<file>``
3. ``<dir>/<file>``
4. installed packs other than the built-in one, in the order of their names
5. the built-in pack, ``standard``

The same order holds for what a template extends or includes (``layout.html.j2``,
``letterhead.html.j2``, ``_contact.html.j2``), so a council can replace just the
letterhead and keep every letter's words.

A letter of kind ``response`` is written from ``response.html.j2``; a **variant** (large
print, easy read) from ``response.<variant>.html.j2`` where one exists anywhere in that
order, else from the standard file (the layout reads ``variant`` and sets the type size
itself). The variant file is looked for in every place before the standard one: a
council's standard ``response.html.j2`` does not hide the built-in easy read version,
which is written for that reader; a built-in large print file that only extends
``response.html.j2`` picks up the council's words.

Override files are compiled when the service starts: one with a syntax error is
reported (its path and line, in the log and in ``problems``) and left out, so the
pack's template is used. One that fails while a letter is rendered (a variable that
is not there, say) is logged (its path, line and the error, never the letter's
contents) and the letter is rendered from the packs alone. Templates run sandboxed:
whoever can write the override folder can change letters, not run code in the service.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from importlib.abc import Traversable
from importlib.metadata import entry_points
from os import PathLike
from pathlib import Path
from typing import Any

import structlog
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    select_autoescape,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from complaints_shared.settings import Settings

log = structlog.get_logger(__name__)

PACKS_GROUP = "complaints.letter_templates"
BUILTIN_DISTRIBUTION = "complaints-letters"
STANDARD = "standard"
"""The built-in pack's name, and the variant every letter has."""
SUFFIX = ".html.j2"
_SLUG = re.compile(r"^[a-z0-9_-]+$")


def standard_templates() -> Traversable:
    """The built-in pack: this package's ``templates`` folder (the entry point's target)."""
    return resources.files("complaints_letters") / "templates"


# Filters ------------------------------------------------------------------------------


def _defined(value: Any) -> None:
    """A filter given a missing variable says which, as jinja2 would (not a TypeError)."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()


def long_date(value: date) -> str:
    """``Monday 7 December 2026``: how dates are written in letters (no leading zero,
    the weekday so nobody has to look it up)."""
    _defined(value)
    return f"{value:%A} {value.day} {value:%B %Y}"


def money(value: Any) -> str:
    """``£1,250.00``: an amount in pounds, exactly (a Decimal, a number or its text)."""
    _defined(value)
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError("money needs a number") from None
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"


FILTERS: dict[str, Callable[..., str]] = {"long_date": long_date, "money": money}


# Where templates come from -------------------------------------------------------------


@dataclass(frozen=True)
class Pack:
    """An installed pack: a folder of templates registered by a distribution."""

    name: str
    distribution: str
    version: str
    root: Traversable

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    @property
    def label(self) -> str:
        return f"pack {self.name}"


@dataclass(frozen=True)
class Problem:
    """A template that cannot be used, and why (shown by ``complaints letters templates``)."""

    path: str
    line: int | None
    error: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.error}"


@dataclass(frozen=True)
class Rendered:
    """A rendered letter and where its template came from (kept with the letter)."""

    html: str
    template: str
    """The file the letter was written from, e.g. ``acknowledgement.large_print.html.j2``."""
    source: str
    """``pack standard``, ``override demo/adults``... (short: it is stored with the letter)."""


@dataclass(frozen=True)
class Listed:
    """One template as ``complaints letters templates`` shows it."""

    name: str
    variant: str
    source: str
    path: str


def split_name(filename: str) -> tuple[str, str]:
    """``response.easy_read.html.j2`` -> (``response``, ``easy_read``)."""
    stem = filename.removesuffix(SUFFIX)
    name, _, variant = stem.partition(".")
    return name, variant or STANDARD


def _resolve(target: object) -> Traversable:
    """What a pack's entry point names, as a folder."""
    if callable(target):
        target = target()
    if isinstance(target, str | PathLike):
        return Path(target)
    if not hasattr(target, "joinpath") or not hasattr(target, "iterdir"):
        raise TypeError(f"a pack must name a folder, not {type(target).__name__}")
    return target  # type: ignore[return-value]


def installed_packs(problems: list[Problem] | None = None) -> list[Pack]:
    """Installed packs in the order they are searched: the council's by name, then the
    built-in one. A pack that cannot be loaded is reported and left out."""
    packs: list[Pack] = []
    for entry in entry_points(group=PACKS_GROUP):
        dist = entry.dist
        try:
            root = _resolve(entry.load())
            if not root.is_dir():
                raise NotADirectoryError(f"{root} is not a folder")
        except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the letters
            problem = Problem(f"{PACKS_GROUP}:{entry.name} ({entry.value})", None, str(error))
            log.error("letter template pack not usable", pack=entry.name, error=str(error))
            if problems is not None:
                problems.append(problem)
            continue
        packs.append(
            Pack(
                name=entry.name,
                distribution=dist.name if dist else "?",
                version=dist.version if dist else "?",
                root=root,
            )
        )
    return sorted(packs, key=lambda pack: (pack.builtin, pack.name, pack.distribution))


@dataclass(frozen=True)
class _Layer:
    """One place templates are looked for: an override folder or a pack."""

    label: str
    root: Traversable
    override: bool
    excluded: frozenset[str] = field(default_factory=frozenset)
    """File names found broken at start-up, left out so the next place's are used."""

    def find(self, filename: str) -> Traversable | None:
        if filename in self.excluded:
            return None
        try:
            entry = self.root.joinpath(*split_template_path(filename))
        except TemplateNotFound:
            return None
        return entry if entry.is_file() else None

    def files(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if entry.name.endswith(".j2") and entry.is_file() and entry.name not in self.excluded
        )


class _LayerLoader(BaseLoader):
    """A jinja2 loader over one layer (a real folder or a package's resources)."""

    def __init__(self, layer: _Layer) -> None:
        self.layer = layer

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        entry = self.layer.find(template)
        if entry is None:
            raise TemplateNotFound(template)
        source = entry.read_text(encoding="utf-8")
        if isinstance(entry, Path):
            mtime = entry.stat().st_mtime

            def uptodate() -> bool:
                try:
                    return entry.stat().st_mtime == mtime
                except OSError:
                    return False

            return source, str(entry), uptodate
        return source, str(entry), lambda: True

    def list_templates(self) -> list[str]:
        return self.layer.files()


def _environment(layers: Iterable[_Layer]) -> Environment:
    env = SandboxedEnvironment(
        loader=ChoiceLoader([_LayerLoader(layer) for layer in layers]),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def _safe_error(error: BaseException) -> str:
    """An error as it may be logged: jinja2's own messages name templates and variables;
    any other error's message may quote a value from the letter, so only its type."""
    if isinstance(error, TemplateSyntaxError):
        return error.message or "syntax error"
    if isinstance(error, TemplateNotFound):
        return f"template not found: {error.name}"
    if isinstance(error, UndefinedError | SecurityError):
        return str(error)
    return type(error).__name__


class TemplatePacks:
    """Every letter template this service can use, chosen per organisation and directorate.

    Built once at start-up (it reads the packs and compiles the override folder); cheap
    to call from then on: one jinja2 environment per organisation and directorate, kept.
    """

    def __init__(self, settings: Settings) -> None:
        self.problems: list[Problem] = []
        self.packs = installed_packs(self.problems)
        self.overrides = settings.letters_templates_dir
        self._excluded: dict[Path, frozenset[str]] = {}
        self._check_packs()
        self._check_overrides()
        self._packs_only = _environment(self._pack_layers())
        self._environments: dict[tuple[str, str], tuple[list[_Layer], Environment]] = {}

    # start-up checks

    def _compile(self, env: Environment, source: str, filename: str, path: str) -> bool:
        try:
            env.compile(source, filename, path)
        except TemplateSyntaxError as error:
            problem = Problem(path, error.lineno, error.message or "syntax error")
            self.problems.append(problem)
            log.error(
                "letter template has an error; the next template in order is used instead",
                path=path,
                line=error.lineno,
                error=problem.error,
            )
            return False
        return True

    def _check_packs(self) -> None:
        """Compile the installed packs' templates too: a bad one is reported (a council's
        is left out, so the built-in one is used; the built-in pack's are tested)."""
        env = _environment([])
        excluded: dict[str, set[str]] = {}
        for pack in self.packs:
            for entry in pack.root.iterdir():
                if not entry.name.endswith(".j2") or not entry.is_file():
                    continue
                source = entry.read_text(encoding="utf-8")
                ok = self._compile(env, source, entry.name, str(entry))
                if not ok and not pack.builtin:
                    excluded.setdefault(pack.label, set()).add(entry.name)
        self._pack_excluded = {label: frozenset(names) for label, names in excluded.items()}

    def _check_overrides(self) -> None:
        """Compile every override file (three levels: all, organisation, directorate)."""
        if self.overrides is None:
            return
        if not self.overrides.is_dir():
            problem = Problem(str(self.overrides), None, "the override folder does not exist")
            self.problems.append(problem)
            log.error("letter template override folder not found", path=str(self.overrides))
            return
        env = _environment([])
        folders = [self.overrides]
        folders += [p for p in sorted(self.overrides.iterdir()) if p.is_dir()]
        folders += [q for p in folders[1:] for q in sorted(p.iterdir()) if q.is_dir()]
        for folder in folders:
            bad = {
                path.name
                for path in sorted(folder.glob("*.j2"))
                if path.is_file()
                and not self._compile(env, path.read_text(encoding="utf-8"), path.name, str(path))
            }
            if bad:
                self._excluded[folder] = frozenset(bad)

    # where to look

    def _pack_layers(self) -> list[_Layer]:
        return [
            _Layer(pack.label, pack.root, False, self._pack_excluded.get(pack.label, frozenset()))
            for pack in self.packs
        ]

    def _override_layers(self, organisation: str, directorate: str) -> list[_Layer]:
        if self.overrides is None:
            return []
        folders: list[tuple[str, Path]] = []
        if _SLUG.match(organisation or ""):
            if _SLUG.match(directorate or ""):
                place = f"{organisation}/{directorate}"
                folders.append((place, self.overrides / organisation / directorate))
            folders.append((organisation, self.overrides / organisation))
        folders.append(("all organisations", self.overrides))
        return [
            _Layer(f"override {place}", folder, True, self._excluded.get(folder, frozenset()))
            for place, folder in folders
            if folder.is_dir()
        ]

    def _for(self, organisation: str, directorate: str) -> tuple[list[_Layer], Environment]:
        key = (organisation, directorate)
        if key not in self._environments:
            layers = self._override_layers(organisation, directorate) + self._pack_layers()
            self._environments[key] = (layers, _environment(layers))
        return self._environments[key]

    # the interface

    def render(
        self,
        name: str,
        context: dict[str, Any],
        organisation: str,
        directorate: str,
        variant: str = STANDARD,
    ) -> Rendered:
        """The letter ``name`` (e.g. ``acknowledgement``) in ``variant``, rendered with
        ``context`` from the templates that apply to this organisation and directorate.

        If an override fails, the error is logged (file, line, error: never the context,
        which holds personal data) and the letter is rendered from the packs alone; if the
        packs' template fails too, that error is raised (it is this suite's bug).
        """
        layers, env = self._for(organisation, directorate)
        filename, layer = self._choose(layers, name, variant)
        if not any(layer.override for layer in layers):
            return Rendered(env.get_template(filename).render(context), filename, layer.label)
        try:
            return Rendered(env.get_template(filename).render(context), filename, layer.label)
        except Exception as error:  # noqa: BLE001 - any failure of an override: use the packs
            path, line = _override_frame(error, [layer.root for layer in layers if layer.override])
            log.error(
                "letter template override failed; rendering from the packs instead",
                template=filename,
                path=path,
                line=line,
                error=_safe_error(error),
            )
        packs = self._pack_layers()
        filename, layer = self._choose(packs, name, variant)
        return Rendered(
            self._packs_only.get_template(filename).render(context), filename, layer.label
        )

    def _choose(self, layers: list[_Layer], name: str, variant: str) -> tuple[str, _Layer]:
        candidates = [f"{name}{SUFFIX}"]
        if variant and variant != STANDARD:
            candidates.insert(0, f"{name}.{variant}{SUFFIX}")
        for filename in candidates:
            for layer in layers:
                if layer.find(filename) is not None:
                    return filename, layer
        raise TemplateNotFound(candidates[-1], f"no letter template {' or '.join(candidates)}")

    def listing(self, organisation: str, directorate: str) -> list[Listed]:
        """Every template that applies to this organisation and directorate, with the
        place it is taken from (the first of the search order that has it)."""
        layers, _ = self._for(organisation, directorate)
        chosen: dict[str, tuple[_Layer, Traversable]] = {}
        for layer in layers:
            for filename in layer.files():
                entry = layer.find(filename)
                if filename not in chosen and entry is not None:
                    chosen[filename] = (layer, entry)
        listed = [
            Listed(*split_name(filename), layer.label, str(entry))
            for filename, (layer, entry) in chosen.items()
        ]
        return sorted(listed, key=lambda item: (item.name, item.variant != STANDARD, item.variant))


def _override_frame(
    error: BaseException, roots: list[Traversable]
) -> tuple[str | None, int | None]:
    """The override file (and line) an error came from, from jinja2's traceback."""
    if isinstance(error, TemplateSyntaxError) and error.filename:
        return error.filename, error.lineno
    prefixes = [str(root) for root in roots]
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(error.__traceback__):
        if any(frame.filename.startswith(prefix) for prefix in prefixes):
            found = (frame.filename, frame.lineno)
    return found
