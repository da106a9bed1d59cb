"""A stand-in for GOV.UK Notify over real HTTP, for tests of letter delivery.

It speaks the parts of Notify's v2 API that letters' channel uses through the official
client (``notifications-python-client``): sending an email (``POST
/v2/notifications/email``), a precompiled letter (``POST /v2/notifications/letter``
with ``reference``, base64 ``content`` and ``postage``), listing notifications by
reference (``GET /v2/notifications?reference=``) and reading one (``GET
/v2/notifications/{id}``). Like Notify, it refuses a request whose bearer token is
not a JWT signed (HS256) with the API key's secret, issued by the key's service id
(``iss``) within 30 seconds (``iat``); its errors have Notify's shape
(``{"status_code": 400, "errors": [{"error": ..., "message": ...}]}``).

A test can make the next sends fail (:meth:`FakeNotify.fail_next`), set what became of
a notification (:meth:`FakeNotify.set_status`), and **hold** the next send
(:meth:`FakeNotify.hold_next`): the request is received, and answered only when the
test releases it, which is when Notify "completes" it (records the notification). A
test can kill the sender while its request is held.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from complaints_shared.runtime.natsserver import free_port


@dataclass
class Sent:
    """A notification Notify holds, with what was sent (for the test to look at)."""

    id: str
    type: str
    reference: str | None
    status: str
    template_id: str | None = None
    email_address: str | None = None
    personalisation: dict[str, Any] = field(default_factory=dict)
    pdf: bytes | None = None
    """The precompiled letter, or the file attached to an email (``((letter))``)."""
    postage: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def public(self, url: str) -> dict[str, Any]:
        """As ``GET /v2/notifications/{id}`` shows it."""
        return {
            "id": self.id,
            "reference": self.reference,
            "email_address": self.email_address,
            "phone_number": None,
            **{f"line_{n}": None for n in range(1, 7)},
            "postcode": None,
            "postage": self.postage,
            "type": self.type,
            "status": self.status,
            "template": {
                "id": self.template_id or str(uuid.UUID(int=0)),
                "version": 1,
                "uri": f"{url}/v2/template/{self.template_id}",
            },
            "body": str(self.personalisation.get("body", "")),
            "subject": self.personalisation.get("subject"),
            "created_at": self.created_at,
            "created_by_name": None,
            "sent_at": None,
            "completed_at": None,
        }


@dataclass
class _Held:
    notification: Sent
    received: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status_code": status, "errors": [{"error": error, "message": message}]},
        status_code=status,
    )


class FakeNotify:
    """Notify on a free port of 127.0.0.1, run by uvicorn in a thread."""

    def __init__(self) -> None:
        self.service_id = str(uuid.uuid4())
        self._secret = str(uuid.uuid4())
        self.api_key = f"complaints_tests-{self.service_id}-{self._secret}"
        self.email_template_id = str(uuid.uuid4())
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sent: list[Sent] = []
        self.posts = 0
        """Send requests received (answered or not)."""
        self._lock = threading.Lock()
        self._failures: deque[tuple[int, str, str, bool]] = deque()
        self._hold: _Held | None = None
        self._holding = False
        app = Starlette(
            routes=[
                Route("/v2/notifications/email", self._email, methods=["POST"]),
                Route("/v2/notifications/letter", self._letter, methods=["POST"]),
                Route("/v2/notifications", self._list, methods=["GET"]),
                Route("/v2/notifications/{id}", self._one, methods=["GET"]),
            ]
        )
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="fake-notify", daemon=True)

    # --- The test's side -------------------------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Notify did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._hold is not None:
            self._hold.released.set()
        self._server.should_exit = True
        self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def fail_next(
        self,
        status: int = 400,
        message: str = "email_address Not a valid email address",
        error: str = "ValidationError",
        *,
        times: int = 1,
        record: bool = False,
    ) -> None:
        """Answer the next ``times`` sends with ``status`` and Notify's error body.
        ``record``: keep the notification all the same (a server error after the fact)."""
        with self._lock:
            self._failures.extend([(status, error, message, record)] * times)

    def set_status(self, notification_id: str, status: str) -> None:
        with self._lock:
            self._by_id(notification_id).status = status

    def hold_next(self) -> None:
        """Hold the next send: received, not answered until :meth:`release`."""
        with self._lock:
            self._holding = True

    def wait_held(self, timeout: float = 30.0) -> Sent:
        """Wait until a held send has arrived; returns what it asked for (not yet kept)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            held = self._hold
            if held is not None and held.received.wait(0.05):
                return held.notification
        raise TimeoutError("no send reached the fake Notify")

    def release(self, *, record: bool = True) -> None:
        """Complete the held send: keep the notification (unless ``record`` is False) and
        answer, if the sender is still there to hear it."""
        held = self._hold
        if held is None:
            raise RuntimeError("no send is held")
        if record:
            with self._lock:
                self.sent.append(held.notification)
        self._hold = None
        held.released.set()

    def with_reference(self, reference: str) -> list[Sent]:
        with self._lock:
            return [n for n in self.sent if n.reference == reference]

    # --- Notify's side ---------------------------------------------------------------

    def _by_id(self, notification_id: str) -> Sent:
        for notification in self.sent:
            if notification.id == notification_id:
                return notification
        raise KeyError(notification_id)

    def _refusal(self, request: Request) -> JSONResponse | None:
        """Notify's checks of the bearer token (``authentication.py`` in its client)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return _error(401, "AuthError", "Unauthorized: authentication token must be provided")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"require": ["iss", "iat"], "verify_iat": True},
                leeway=30,
            )
        except jwt.PyJWTError:
            return _error(403, "AuthError", "Invalid token: signature, api token not found")
        if claims["iss"] != self.service_id:
            return _error(403, "AuthError", "Invalid token: service not found")
        if abs(time.time() - int(claims["iat"])) > 30:
            return _error(
                403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds"
            )
        return None

    async def _accept(self, notification: Sent, answer: dict[str, Any]) -> JSONResponse:
        """Keep ``notification`` (or fail, or hold, as the test asked) and answer 201."""
        with self._lock:
            self.posts += 1
            failure = self._failures.popleft() if self._failures else None
            holding, self._holding = self._holding, False
        if failure is not None:
            status, error, message, record = failure
            if record:
                with self._lock:
                    self.sent.append(notification)
            return _error(status, error, message)
        if holding:
            held = self._hold = _Held(notification)
            held.received.set()
            while not held.released.is_set():  # not answered until the test says
                await asyncio.sleep(0.01)
            if notification not in self.sent:
                return _error(500, "Exception", "Internal server error")
            return JSONResponse(answer, status_code=201)
        with self._lock:
            self.sent.append(notification)
        return JSONResponse(answer, status_code=201)

    async def _email(self, request: Request) -> JSONResponse:
        if refusal := self._refusal(request):
            return refusal
        body = await request.json()
        personalisation = body.get("personalisation") or {}
        if not body.get("email_address") or "@" not in str(body["email_address"]):
            return _error(400, "ValidationError", "email_address Not a valid email address")
        if body.get("template_id") is None:
            return _error(400, "ValidationError", "template_id is a required property")
        attached = None
        letter = personalisation.get("letter")
        if isinstance(letter, dict) and "file" in letter:
            try:
                attached = base64.b64decode(letter["file"], validate=True)
            except binascii.Error:
                return _error(400, "ValidationError", "letter file is not base64")
        notification = Sent(
            id=str(uuid.uuid4()),
            type="email",
            reference=body.get("reference"),
            status="created",
            template_id=str(body["template_id"]),
            email_address=str(body["email_address"]),
            personalisation=personalisation,
            pdf=attached,
        )
        answer = {
            "id": notification.id,
            "reference": notification.reference,
            "content": {
                "body": str(personalisation.get("body", "")),
                "subject": str(personalisation.get("subject", "")),
                "from_email": "council@notifications.service.gov.uk",
            },
            "uri": f"{self.url}/v2/notifications/{notification.id}",
            "template": {
                "id": notification.template_id,
                "version": 1,
                "uri": f"{self.url}/v2/template/{notification.template_id}",
            },
            "scheduled_for": None,
        }
        return await self._accept(notification, answer)

    async def _letter(self, request: Request) -> JSONResponse:
        if refusal := self._refusal(request):
            return refusal
        body = await request.json()
        if "content" not in body or not body.get("reference"):
            return _error(400, "ValidationError", "reference and content are required properties")
        try:
            pdf = base64.b64decode(body["content"], validate=True)
        except binascii.Error:
            return _error(400, "ValidationError", "content is not a valid base64 string")
        if not pdf.startswith(b"%PDF-"):
            return _error(400, "ValidationError", "Letter content is not a valid PDF")
        postage = body.get("postage", "second")
        if postage not in ("first", "second", "economy"):
            return _error(
                400, "ValidationError", "postage invalid. It must be first, second or economy."
            )
        notification = Sent(
            id=str(uuid.uuid4()),
            type="letter",
            reference=str(body["reference"]),
            status="accepted",
            pdf=pdf,
            postage=postage,
        )
        answer = {"id": notification.id, "reference": notification.reference, "postage": postage}
        return await self._accept(notification, answer)

    async def _list(self, request: Request) -> JSONResponse:
        if refusal := self._refusal(request):
            return refusal
        reference = request.query_params.get("reference")
        with self._lock:
            found = [n for n in self.sent if reference is None or n.reference == reference]
            shown = [n.public(self.url) for n in reversed(found)]  # newest first
        return JSONResponse(
            {"notifications": shown, "links": {"current": f"{self.url}{request.url.path}"}}
        )

    async def _one(self, request: Request) -> JSONResponse:
        if refusal := self._refusal(request):
            return refusal
        with self._lock:
            try:
                notification = self._by_id(request.path_params["id"])
            except KeyError:
                return _error(404, "NoResultFound", "No result found")
            return JSONResponse(notification.public(self.url))
