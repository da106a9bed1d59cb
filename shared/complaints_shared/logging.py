"""structlog JSON logging for every service, with the stdlib routed through it.

Context that matters when tracing a case (service, event id, case id, correlation
id) is bound with ``structlog.contextvars`` by the consumer and the HTTP layer, so
every line logged while handling a message or request carries it.
"""

from __future__ import annotations

import logging
import sys

import structlog

from complaints_shared.redaction import redacted_traceback


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Send structlog and stdlib logs (uvicorn, FastStream, SQLAlchemy) to stdout as one stream.

    Every logged exception is rendered by :func:`~complaints_shared.redaction.redacted_traceback`,
    so no complainant's details reach the log through an error's text.

    FastStream gives its loggers coloured stdout handlers of their own (and stops them
    propagating), so ours replaces theirs.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.ExceptionRenderer(redacted_traceback),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for own_handlers in ("faststream", "faststream.access.nats"):
        logging.getLogger(own_handlers).handlers[:] = [handler]
        logging.getLogger(own_handlers).propagate = False
    for noisy in ("uvicorn.access", "aiosqlite", "asyncio", "faststream"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
