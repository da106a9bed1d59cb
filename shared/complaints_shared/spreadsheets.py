"""Cells of CSV files that people open in spreadsheets."""

from __future__ import annotations


def formula_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection): one starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is quoted with ``'``."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
