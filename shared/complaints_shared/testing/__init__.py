"""Test support: real servers for every service's tests (a pytest plugin)."""
