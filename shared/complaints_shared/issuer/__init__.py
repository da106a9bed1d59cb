"""A small OpenID Connect issuer for the embedded run and the tests.

Councils sign staff in with Entra ID or Keycloak; ``complaints up`` has neither, so it
serves this one beside the services (discovery, keys, authorisation-code sign-in with
PKCE, client credentials). The services verify its tokens exactly as they would a real
issuer's, over HTTP: nothing in them knows it is local.
"""
