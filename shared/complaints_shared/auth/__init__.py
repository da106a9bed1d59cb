"""Who is asking: staff and clients signed in with OpenID Connect, and what they may see.

- :mod:`.principal`: roles and the signed-in :class:`Principal`;
- :mod:`.tokens`: verifying a bearer token against the issuer's published keys;
- :mod:`.routes`: the FastAPI dependencies every route declares its roles with.
"""

from complaints_shared.auth.principal import Principal, Role
from complaints_shared.auth.routes import Anyone, public_caller, requires

__all__ = ["Anyone", "Principal", "Role", "public_caller", "requires"]
