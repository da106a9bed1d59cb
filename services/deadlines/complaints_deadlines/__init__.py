"""Deadlines: each procedure's timescales turned into dated, explained deadlines."""
