"""``complaints workdays``: working-day arithmetic on the command line.

Uses the calendar configuration gives the organisation (bank holidays, the
announced-holidays file and ``COMPLAINTS_CLOSURES``); closures added at run time
over HTTP live in the deadlines database and show in ``GET /api/v1/calendar``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from complaints_shared.calendar import organisation_calendar
from complaints_shared.settings import Settings


class WorkdaysCommand:
    help = "working-day arithmetic: `add DATE N` or `between A B`"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--organisation", help="whose closure days to count (default: COMPLAINTS_ORGANISATION)"
        )
        verbs = parser.add_subparsers(dest="verb", required=True)
        add = verbs.add_parser("add", help="the date N working days after DATE")
        add.add_argument("date", type=date.fromisoformat)
        add.add_argument("days", type=int)
        between = verbs.add_parser("between", help="working days after A up to and including B")
        between.add_argument("start", type=date.fromisoformat)
        between.add_argument("end", type=date.fromisoformat)

    def run(self, args: argparse.Namespace) -> int:
        calendar = organisation_calendar(Settings(), args.organisation)
        try:
            if args.verb == "add":
                print(calendar.add(args.date, args.days).isoformat())
            else:
                print(calendar.between(args.start, args.end))
        except ValueError as error:
            print(f"complaints workdays: {error}", file=sys.stderr)
            return 2
        return 0


command = WorkdaysCommand()
