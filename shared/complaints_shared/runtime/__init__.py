"""Running services: the bundled NATS server, the host process, the ``complaints`` CLI."""
