"""Plugin discovery through Python entry points.

A council or a third party adds behaviour by installing a distribution that declares
entry points in these groups, never by editing ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from complaints_shared.service import Service
    from complaints_shared.settings import Settings

SERVICES_GROUP = "complaints.services"
GROUPS = {
    SERVICES_GROUP: "services: create(settings) -> Service",
    "complaints.procedures": "procedures: a complaints_shared.procedures.Procedure",
    "complaints.commands": "commands: extra `complaints` subcommands (add_arguments, run)",
    "complaints.documents": "documents: () -> {repo path: JSON document} to publish and check",
    "complaints.letter_channels": "letter delivery channels: create(settings) -> Channel",
    "complaints.letter_templates": "letter template packs: a folder of jinja2 templates (a path, "
    "a Traversable, or a function returning one); installed packs come before the built-in "
    "`standard`, by name",
    "complaints.provider_feed_formats": "provider feed formats: an object with name, "
    "media_types and parse(body) -> rows (complaints_intake.providers.feed_formats)",
}
COMMANDS_GROUP = "complaints.commands"
DOCUMENTS_GROUP = "complaints.documents"
LETTER_CHANNELS_GROUP = "complaints.letter_channels"

ServiceFactory = Callable[["Settings"], "Service"]


@dataclass(frozen=True)
class Plugin:
    group: str
    name: str
    target: str
    distribution: str
    version: str


def _describe(group: str, entry: EntryPoint) -> Plugin:
    dist = entry.dist
    return Plugin(
        group=group,
        name=entry.name,
        target=entry.value,
        distribution=dist.name if dist else "?",
        version=dist.version if dist else "?",
    )


def installed_plugins() -> list[Plugin]:
    """Every plugin installed, in every group this suite knows, sorted."""
    return sorted(
        (_describe(group, entry) for group in GROUPS for entry in entry_points(group=group)),
        key=lambda plugin: (plugin.group, plugin.name),
    )


def commands() -> dict[str, object]:
    """Subcommands that installed distributions add to ``complaints``, by name."""
    return {entry.name: entry.load() for entry in entry_points(group=COMMANDS_GROUP)}


def published_documents() -> dict[str, dict]:
    """Documents installed distributions publish in the repository, by path from its root."""
    documents: dict[str, dict] = {}
    for entry in entry_points(group=DOCUMENTS_GROUP):
        documents.update(entry.load()())
    return documents


def service_names() -> list[str]:
    """The installed services' names, without importing them."""
    return sorted(entry.name for entry in entry_points(group=SERVICES_GROUP))


def service_factories(names: list[str] | None = None) -> dict[str, ServiceFactory]:
    """The installed service factories by name; ``names`` picks some, failing on unknown ones."""
    found = {entry.name: entry for entry in entry_points(group=SERVICES_GROUP)}
    wanted = sorted(found) if names is None else names
    missing = [name for name in wanted if name not in found]
    if missing:
        installed = ", ".join(sorted(found)) or "none"
        raise LookupError(f"no service plugin named {', '.join(missing)}; installed: {installed}")
    return {name: found[name].load() for name in wanted}
