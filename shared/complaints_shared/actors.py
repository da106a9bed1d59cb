"""Who is acting, for audit trails: the ``X-Actor`` header every changing route reads.

One definition, so every service's audit names the actor the same way; the security
issue replaces the header with the signed-in user's identity in one place.
"""

from typing import Annotated

from fastapi import Header

Actor = Annotated[
    str, Header(alias="X-Actor", max_length=200, description="Who is acting (for the audit trail)")
]
