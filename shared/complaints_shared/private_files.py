"""Folders and files that only the suite's own user may read.

The SQLite files and the bundled NATS server's store hold complaints (personal data),
so they are made owner-only (folders 0700, files 0600) whatever the process's umask.
``complaints up`` and ``complaints run`` also set the umask to 077, so the files SQLite
(its ``-wal`` and ``-shm``) and nats-server make beside them are owner-only too.
"""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create ``path`` (and any missing parents) readable by its owner only, if missing.

    A folder that already exists is left as its owner set it: it may be one they share
    on purpose. Safe to call from several threads at once: only the one that made the
    folder sets its mode.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            return path  # made meanwhile by another writer, which sets its mode
        os.chmod(path, 0o700)  # mkdir's mode is narrowed by the umask, never widened
    return path


def private_file(path: Path) -> Path:
    """Create the empty file ``path`` as owner-only (0600), if missing."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    return path
