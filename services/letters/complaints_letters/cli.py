"""``complaints letters ...``: letters' own commands.

``complaints letters templates [--organisation X] [--directorate Y]`` lists the letter
templates that apply there, each with the place it is taken from (a pack, or a file in
the override folder), then any problem found with them: what a council checks after
dropping its own letterhead or wording in ``COMPLAINTS_LETTERS_TEMPLATES_DIR``.
"""

from __future__ import annotations

import argparse
import sys

from complaints_letters.packs import TemplatePacks
from complaints_shared.settings import Settings


def templates(args: argparse.Namespace) -> int:
    """List the letter templates in use and the problems found; 1 if there are problems."""
    settings = Settings()
    packs = TemplatePacks(settings)
    organisation = args.organisation or settings.organisation
    directorate = args.directorate or ""
    where = f"{organisation}/{directorate}" if directorate else organisation
    folder = settings.letters_templates_dir or "none (COMPLAINTS_LETTERS_TEMPLATES_DIR)"
    print(f"Letter templates for {where}; override folder: {folder}")
    print("Packs, in order: " + ", ".join(f"{p.name} ({p.distribution})" for p in packs.packs))
    listed = packs.listing(organisation, directorate)
    width = max((len(item.name) for item in listed), default=0)
    variants = max((len(item.variant) for item in listed), default=0)
    for item in listed:
        print(f"{item.name:<{width}}  {item.variant:<{variants}}  {item.source}: {item.path}")
    if packs.problems:
        print(f"\n{len(packs.problems)} problem(s); these templates are not used:", file=sys.stderr)
        for problem in packs.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


class LettersCommand:
    """``complaints letters``: letters' own subcommands."""

    help = "letters: list the letter templates in use (templates)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="letters_command", required=True)
        p_templates = sub.add_parser("templates", help=templates.__doc__)
        p_templates.add_argument(
            "--organisation", help="an organisation's slug (default COMPLAINTS_ORGANISATION)"
        )
        p_templates.add_argument("--directorate", help="a directorate's slug (default none)")
        p_templates.set_defaults(letters_func=templates)

    def run(self, args: argparse.Namespace) -> int:
        return args.letters_func(args)


command = LettersCommand()
