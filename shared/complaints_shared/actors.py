"""Who is acting, for audit trails: the ``X-Actor`` header every changing route reads.

One definition, so every service's audit names the actor the same way; the security
issue replaces the header with the signed-in user's identity in one place.
"""

from typing import Annotated

from fastapi import Header

from complaints_shared.contracts.limits import NAME_CHARS, NO_NUL

Actor = Annotated[
    str,
    Header(
        alias="X-Actor",
        max_length=NAME_CHARS,
        pattern=NO_NUL,
        description="Who is acting (for the audit trail)",
    ),
]
