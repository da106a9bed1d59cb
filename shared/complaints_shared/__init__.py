"""Contracts and platform shared by every complaints service."""
