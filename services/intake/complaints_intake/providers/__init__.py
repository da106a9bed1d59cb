"""Commissioned providers: the register (intake owns it) and the providers' own feed.

- :mod:`.models`: the register's table;
- the register's operations, its API and CSV import, and matching free-text provider
  names on older cases to registered providers;
- the feed: each provider's returns (complaints and compliments it handled, nil
  returns), their formats as plugins, and referring one to the council.
"""
