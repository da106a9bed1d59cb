"""Reporting: read models fed by events, and the reports built from them."""
