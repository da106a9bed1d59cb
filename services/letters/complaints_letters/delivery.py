"""Delivering approved letters: each one sent exactly once, whatever dies when.

A letter goes through its channel (``complaints_letters.channels``) in **attempts**,
each a row in ``delivery_attempts`` recorded and committed *before* the channel is
called, so a process that dies mid-call leaves a trace:

1. **Claim.** Approved letters are taken with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL;
   SQLite has one writer), so two replicas never take the same one; the claim is
   checked again by a second statement once the lock is held (it sees what another
   replica committed meanwhile). ``prepare`` dates and renders the letter, and the
   attempt is recorded ``pending`` with a lease (twice ``letters_send_timeout``).
   Commit. No transaction is open while the channel is called.
2. **Send**, then record the answer: ``accepted`` (the letter is ``sent``;
   ``letter.sent`` and, for an acknowledgement, ``letter.issued`` are staged in the
   same transaction), ``failed`` (the provider said no), or ``unknown`` (a server
   error or a timeout: it may have gone).
3. **Settle what was left open.** An attempt still ``pending`` after its lease (its
   process died) or ``unknown`` is looked up at the channel by our reference, the
   letter id (``Channel.find``): found, it was sent; not found, it is ``lost`` (or
   ``failed``) and the letter goes again as a new attempt. Nothing is sent twice
   unless a provider takes longer than the lease to answer and then says yes.
4. **Watch.** Sent letters are asked about (``Channel.status``) at growing intervals
   until delivered (``letter.delivered``) or failed.

A failure is tried again after ``letters_retry_backoff`` (each retry a new attempt,
``letter.failed`` with ``final: false``); when the waits run out, or at once for a
permanent failure (a bad address), the letter is ``failed`` with the reason and
``letter.failed`` ``final: true``. The team sees it and may :func:`resend` it.
Every step adds a row to the letter's history. Logs carry ids and kinds only.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import structlog
from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from complaints_letters.channels import (
    Channel,
    OutcomeUnknown,
    Outgoing,
    Receipt,
    Refused,
    Route,
    State,
    load_channel,
)
from complaints_letters.models import SYSTEM, Base, CaseFacts, Letter, Status, history
from complaints_shared.calendar import today_in_england
from complaints_shared.contracts.envelope import EventPayload, new_event
from complaints_shared.contracts.events import (
    LetterDelivered,
    LetterFailed,
    LetterIssued,
    LetterSent,
)
from complaints_shared.contracts.vocabulary import LetterKind
from complaints_shared.db import UtcDateTime
from complaints_shared.service import Service

log = structlog.get_logger(__name__)

BATCH = 10
"""Letters claimed at a time; sent side by side, at most :data:`CONCURRENT` at once."""
CONCURRENT = 4
MAX_CHECK_SECONDS = 3600.0
WATCHED_FOR = timedelta(days=7)
"""How long a sent letter is asked about: GOV.UK Notify keeps a notification for 7 days.
One still not delivered by then stays ``sent``."""


class Outcome(StrEnum):
    PENDING = "pending"
    """Recorded before the channel was called; its answer is not in yet."""
    ACCEPTED = "accepted"
    """The channel has it: the letter is sent, and watched until delivered."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """The channel said no, or reported that it failed."""
    UNKNOWN = "unknown"
    """No clear answer: it will be looked up at the channel."""
    LOST = "lost"
    """Its process died before the channel got it (the channel has no such letter)."""


OPEN_OUTCOMES = (Outcome.PENDING, Outcome.UNKNOWN)
SPENT_OUTCOMES = (Outcome.FAILED, Outcome.LOST)
"""Outcomes that use up one of the letter's tries."""


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryAttempt(Base):
    """One try at delivering one letter through one channel."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        UniqueConstraint("letter_id", "attempt"),
        Index("ix_delivery_attempts_due", "outcome", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    letter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("letters.id"), index=True)
    attempt: Mapped[int]
    channel: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    outcome: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Pending: when its lease ends. Unknown: when to look it up. Accepted: when to ask
    how it stands. Failed or lost: when the letter may go again."""
    counted: Mapped[bool] = mapped_column(default=True)
    """Whether a failure here uses up one of the letter's tries (a resend starts afresh)."""


def ready(now: datetime) -> ColumnElement[bool]:
    """Approved letters whose time has come (a digest waits for its day to end)."""
    return (Letter.status == Status.APPROVED) & or_(
        Letter.send_after.is_(None), Letter.send_after <= now
    )


# --- Who the letter goes to ---------------------------------------------------------


class NoRoute(Exception):
    """Nobody to deliver the letter to by any route."""


@dataclass(frozen=True)
class Recipient:
    route: Route
    email: str | None
    address: tuple[str, ...]


def address_lines(address: str | None) -> tuple[str, ...]:
    """A complainant's address (one string) as lines: split at newlines, else at commas."""
    if not address:
        return ()
    parts = address.splitlines() if "\n" in address else address.split(",")
    return tuple(line.strip() for line in parts if line.strip())


def recipient(letter: Letter, facts: CaseFacts | None) -> Recipient:
    """Where ``letter`` goes: the route it was given, else the complainant's preference
    (post for ``letter``, email otherwise), else whichever they gave."""
    complainant = (facts.complainant if facts else None) or {}
    email = complainant.get("email") or None
    address = address_lines(complainant.get("address"))
    available = {"email": bool(email), "post": bool(address)}
    if letter.route in available:
        if not available[letter.route]:
            raise NoRoute(f"the letter is to go by {letter.route}, and there is no such address")
        return Recipient(letter.route, email, address)
    preferred = "post" if complainant.get("preferred_contact") == "letter" else "email"
    for route in (preferred, "email", "post"):
        if available[route]:
            return Recipient(route, email, address)
    raise NoRoute("the complainant gave no email or postal address")


Prepare = Callable[[AsyncSession, Letter], Awaitable[Outgoing]]
"""Dates ``letter`` today, renders it again and returns it as the channel sends it.

Runs inside the transaction that claims the letter (its changes commit with the
attempt); should leave the PDF as a function for the channel to call, so it is not
rendered while the transaction is open. Raising :class:`NoRoute` fails the letter."""


# --- The team's own action ----------------------------------------------------------


class NotResendable(Exception):
    """Only a failed letter can be sent again."""


async def resend(session: AsyncSession, letter: Letter, actor: str) -> None:
    """Send a failed letter again, with all its tries (call :meth:`Delivery.wake` after
    the transaction commits). Raises :class:`NotResendable` for any other letter."""
    if letter.status != Status.FAILED:
        raise NotResendable(f"letter {letter.id} is {letter.status}; only a failed one is resent")
    letter.status = Status.APPROVED
    letter.reason = None
    await session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.letter_id == letter.id, DeliveryAttempt.counted.is_(True))
        .values(counted=False)
    )
    history(session, letter, actor, "resend")


# --- The worker ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    letter_id: uuid.UUID
    kind: str
    attempt_id: int
    attempt: int
    reference: str = ""
    outgoing: Outgoing | None = None
    provider_id: str | None = None
    besides: tuple[str, ...] = ()


def _short(reason: str) -> str:
    return re.sub(r"\s+", " ", reason).strip()[:480] or "failed"


class Delivery:
    """The delivery worker of one letters service (see the module's docstring)."""

    def __init__(self, service: Service, channel: Channel, prepare: Prepare) -> None:
        self.service = service
        self.channel = channel
        self.prepare = prepare
        settings = service.settings
        self.backoff = settings.letters_retry_backoff
        self.poll_seconds = settings.letters_poll_seconds
        self.lease = timedelta(seconds=2 * settings.letters_send_timeout + 2)
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(CONCURRENT)

    def wake(self) -> None:
        """Look for letters to send now (a letter was approved or resent), not at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled, surviving channel and database outages."""
        while True:
            self._wake.clear()
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("letter delivery pass failed; will retry")
                busy = False
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def run_once(self) -> bool:
        """One pass: settle open attempts, send approved letters, ask about sent ones.
        Returns whether it did anything (then another pass follows at once)."""
        settled = await self._each(await self._claim_open(), self._settle)
        if self.service.settings.letters_paused:
            sent = 0  # an operator's pause: approved letters wait; what went is still followed
        else:
            sent = await self._each(await self._claim_approved(), self._send)
        checked = await self._each(await self._claim_sent(), self._check)
        return bool(settled or sent or checked)

    async def _each(self, claims: list[_Claim], step: Callable[[_Claim], Awaitable[None]]) -> int:
        async def limited(claim: _Claim) -> None:
            async with self._limit:
                try:
                    await step(claim)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception(
                        "letter delivery step failed; will retry",
                        letter_id=str(claim.letter_id),
                        attempt=claim.attempt,
                    )

        await asyncio.gather(*(limited(claim) for claim in claims))
        return len(claims)

    # Claims: short transactions that take work and commit before any call out.

    async def _claim_approved(self) -> list[_Claim]:
        now = _now()
        waiting = exists().where(
            DeliveryAttempt.letter_id == Letter.id,
            or_(
                DeliveryAttempt.outcome.in_(OPEN_OUTCOMES),
                DeliveryAttempt.outcome.in_(SPENT_OUTCOMES) & (DeliveryAttempt.next_try_at > now),
            ),
        )
        due = ready(now)
        claims = []
        async with self.service.db.transaction() as session:
            letters = (
                await session.scalars(
                    select(Letter)
                    .where(due, ~waiting)
                    .order_by(Letter.updated_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True, of=Letter)
                )
            ).all()
            if not letters:
                return []
            # Again, now the locks are held: this statement sees what others committed.
            still = set(
                await session.scalars(
                    select(Letter.id).where(
                        Letter.id.in_([letter.id for letter in letters]),
                        due,
                        ~waiting,
                    )
                )
            )
            for letter in letters:
                if letter.id in still:
                    claim = await self._start(session, letter, now)
                    if claim is not None:
                        claims.append(claim)
        return claims

    async def _start(self, session: AsyncSession, letter: Letter, now: datetime) -> _Claim | None:
        number = 1 + (
            await session.scalar(
                select(func.coalesce(func.max(DeliveryAttempt.attempt), 0)).where(
                    DeliveryAttempt.letter_id == letter.id
                )
            )
        )
        claim_id = letter.id
        try:
            async with self.service.outbox.savepoint(session):
                outgoing = await self.prepare(session, letter)
        except NoRoute as error:
            await session.refresh(letter)  # the savepoint's rollback expired it
            attempt = self._attempt(letter, number, letter.route or "post", now)
            session.add(attempt)
            await self._failed(session, letter, attempt, str(error), permanent=True)
            return None
        except Exception as error:
            log.exception("a letter could not be prepared", letter_id=str(claim_id))
            await session.refresh(letter)
            attempt = self._attempt(letter, number, letter.route or "post", now)
            session.add(attempt)
            reason = f"the letter could not be prepared for sending ({type(error).__name__})"
            await self._failed(session, letter, attempt, reason, permanent=False)
            return None
        attempt = self._attempt(letter, number, outgoing.route, now)
        attempt.next_try_at = now + self.lease
        session.add(attempt)
        history(session, letter, SYSTEM, "sending", f"attempt {number} by {self.channel.name}")
        await session.flush()
        return _Claim(letter.id, letter.kind, attempt.id, number, outgoing=outgoing)

    def _attempt(self, letter: Letter, number: int, route: str, now: datetime) -> DeliveryAttempt:
        return DeliveryAttempt(
            letter_id=letter.id,
            attempt=number,
            channel=self.channel.name,
            route=route,
            started_at=now,
            outcome=Outcome.PENDING,
        )

    async def _claim_due(
        self, outcomes: tuple[str, ...], letter_status: tuple[str, ...] = ()
    ) -> list[_Claim]:
        """Attempts in ``outcomes`` whose ``next_try_at`` has come, leased to this worker."""
        now = _now()
        due = [DeliveryAttempt.outcome.in_(outcomes), DeliveryAttempt.next_try_at <= now]
        if letter_status:
            due.append(Letter.status.in_(letter_status))
        query = select(DeliveryAttempt.id).join(Letter, Letter.id == DeliveryAttempt.letter_id)
        async with self.service.db.transaction() as session:
            ids = (
                await session.scalars(
                    query.where(*due)
                    .order_by(DeliveryAttempt.next_try_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True, of=Letter)
                )
            ).all()
            if not ids:
                return []
            rows = (
                await session.execute(
                    select(DeliveryAttempt, Letter.kind)
                    .join(Letter, Letter.id == DeliveryAttempt.letter_id)
                    .where(DeliveryAttempt.id.in_(ids), *due)
                    .execution_options(populate_existing=True)
                )
            ).all()
            claims = []
            for attempt, kind in rows:
                attempt.next_try_at = now + self.lease
                earlier = await session.scalars(
                    select(DeliveryAttempt.provider_id).where(
                        DeliveryAttempt.letter_id == attempt.letter_id,
                        DeliveryAttempt.id != attempt.id,
                        DeliveryAttempt.provider_id.is_not(None),
                    )
                )
                claims.append(
                    _Claim(
                        attempt.letter_id,
                        kind,
                        attempt.id,
                        attempt.attempt,
                        reference=str(attempt.letter_id),
                        provider_id=attempt.provider_id,
                        besides=tuple(earlier),
                    )
                )
        return claims

    async def _claim_open(self) -> list[_Claim]:
        return await self._claim_due(OPEN_OUTCOMES)

    async def _claim_sent(self) -> list[_Claim]:
        return await self._claim_due((Outcome.ACCEPTED,), (Status.SENT,))

    # Steps: call the channel, then record what it said.

    async def _send(self, claim: _Claim) -> None:
        assert claim.outgoing is not None
        receipt: Receipt | None = None
        refused: Refused | None = None
        unknown = ""
        try:
            receipt = await self.channel.send(claim.outgoing)
        except Refused as error:
            refused = error
        except OutcomeUnknown as error:
            unknown = str(error)
        except Exception as error:  # a fault of ours or the client's: it may have gone
            log.exception("letter channel raised", letter_id=str(claim.letter_id))
            unknown = f"{self.channel.name} raised {type(error).__name__}"
        async with self.service.db.transaction() as session:
            found = await self._locked(session, claim, (Outcome.PENDING,))
            if found is None:
                return
            letter, attempt = found
            if receipt is not None:
                await self._accepted(session, letter, attempt, receipt)
            elif refused is not None:
                await self._failed(
                    session, letter, attempt, refused.reason, permanent=refused.permanent
                )
            else:
                attempt.outcome = Outcome.UNKNOWN
                attempt.reason = _short(unknown)
                attempt.next_try_at = _now() + timedelta(seconds=self._wait(attempt))
                history(session, letter, SYSTEM, "unknown", f"attempt {attempt.attempt}: no answer")
                log.warning("letter send outcome unknown", **self._ids(letter, attempt))

    async def _settle(self, claim: _Claim) -> None:
        try:
            found = await self.channel.find(claim.reference, besides=claim.besides)
        except Exception as error:
            if not isinstance(error, OutcomeUnknown | Refused):
                log.exception("letter channel raised", letter_id=str(claim.letter_id))
            await self._later(claim, (*OPEN_OUTCOMES,))
            return
        async with self.service.db.transaction() as session:
            locked = await self._locked(session, claim, OPEN_OUTCOMES)
            if locked is None:
                return
            letter, attempt = locked
            if found is not None:
                await self._accepted(session, letter, attempt, found)
            elif attempt.outcome == Outcome.PENDING:
                await self._failed(
                    session,
                    letter,
                    attempt,
                    f"never reached {self.channel.name} (the process sending it stopped)",
                    permanent=False,
                    outcome=Outcome.LOST,
                )
            else:  # unknown, and not there: it failed; its wait is already over
                await self._failed(
                    session, letter, attempt, attempt.reason or "no answer", False, now=True
                )

    async def _check(self, claim: _Claim) -> None:
        assert claim.provider_id is not None
        try:
            receipt = await self.channel.status(Receipt(claim.provider_id))
        except Exception as error:
            if not isinstance(error, OutcomeUnknown | Refused):
                log.exception("letter channel raised", letter_id=str(claim.letter_id))
            await self._later(claim, (Outcome.ACCEPTED,))
            return
        async with self.service.db.transaction() as session:
            locked = await self._locked(session, claim, (Outcome.ACCEPTED,))
            if locked is None:
                return
            letter, attempt = locked
            await self._follow(session, letter, attempt, receipt)

    async def _later(self, claim: _Claim, outcomes: tuple[str, ...]) -> None:
        """The channel could not answer: ask again later."""
        async with self.service.db.transaction() as session:
            locked = await self._locked(session, claim, outcomes)
            if locked is not None:
                attempt = locked[1]
                later = self._next_check(attempt)
                if later is None and attempt.outcome != Outcome.ACCEPTED:  # keep asking
                    later = _now() + timedelta(seconds=MAX_CHECK_SECONDS)
                attempt.next_try_at = later

    async def _locked(
        self, session: AsyncSession, claim: _Claim, outcomes: tuple[str, ...]
    ) -> tuple[Letter, DeliveryAttempt] | None:
        """The claim's letter and attempt, locked, if the attempt is still as it was."""
        letter = await session.get(
            Letter, claim.letter_id, with_for_update=True, populate_existing=True
        )
        attempt = await session.get(
            DeliveryAttempt, claim.attempt_id, with_for_update=True, populate_existing=True
        )
        if letter is None or attempt is None or attempt.outcome not in outcomes:
            log.warning(
                "letter attempt settled elsewhere (its lease had run out)",
                letter_id=str(claim.letter_id),
                attempt=claim.attempt,
            )
            return None
        return letter, attempt

    # Records: what each answer means for the letter.

    async def _accepted(
        self, session: AsyncSession, letter: Letter, attempt: DeliveryAttempt, receipt: Receipt
    ) -> None:
        attempt.outcome = Outcome.ACCEPTED
        attempt.provider_id = receipt.provider_id
        attempt.reason = None
        letter.status = Status.SENT
        letter.route = attempt.route
        letter.channel = attempt.channel
        letter.reason = None
        today = today_in_england()
        history(
            session,
            letter,
            SYSTEM,
            "sent",
            f"attempt {attempt.attempt} by {attempt.channel} ({attempt.route})",
        )
        sent = LetterSent(
            letter_id=letter.id,
            kind=letter.kind,
            stage=letter.stage,
            version=letter.version,
            channel=attempt.channel,
            route=attempt.route,
            sent_on=today,
        )
        announcements: list[EventPayload] = [sent]
        if letter.kind == LetterKind.ACKNOWLEDGEMENT:
            announcements.append(
                LetterIssued(
                    letter_id=letter.id,
                    kind=LetterKind.ACKNOWLEDGEMENT,
                    issued_on=today,
                    stage=letter.stage if letter.stage > 1 else None,
                )
            )
        await self._announce(session, letter, *announcements)
        log.info("letter sent", **self._ids(letter, attempt), route=attempt.route)
        await self._follow(session, letter, attempt, receipt)

    async def _follow(
        self, session: AsyncSession, letter: Letter, attempt: DeliveryAttempt, receipt: Receipt
    ) -> None:
        """Record how a sent letter stands, as the channel says."""
        if receipt.state is State.DELIVERED:
            attempt.outcome = Outcome.DELIVERED
            attempt.next_try_at = None
            letter.status = Status.DELIVERED
            history(session, letter, SYSTEM, "delivered", f"by {attempt.channel}")
            await self._announce(
                session,
                letter,
                LetterDelivered(
                    letter_id=letter.id,
                    kind=letter.kind,
                    stage=letter.stage,
                    channel=attempt.channel,
                    delivered_on=today_in_england(),
                ),
            )
            log.info("letter delivered", **self._ids(letter, attempt))
        elif receipt.state is State.FAILED:
            reason = receipt.reason or f"{attempt.channel} reports it failed"
            await self._failed(session, letter, attempt, reason, permanent=receipt.permanent)
        else:
            attempt.next_try_at = self._next_check(attempt)

    async def _failed(
        self,
        session: AsyncSession,
        letter: Letter,
        attempt: DeliveryAttempt,
        reason: str,
        permanent: bool,
        now: bool = False,
        outcome: Outcome = Outcome.FAILED,
    ) -> None:
        """Record a failed attempt: try again after the next wait, or fail the letter."""
        reason = _short(reason)
        attempt.outcome = outcome
        attempt.reason = reason
        await session.flush()
        spent = await session.scalar(
            select(func.count()).where(
                DeliveryAttempt.letter_id == letter.id,
                DeliveryAttempt.counted.is_(True),
                DeliveryAttempt.outcome.in_(SPENT_OUTCOMES),
            )
        )
        final = permanent or spent > len(self.backoff)
        if letter.status == Status.CANCELLED:  # cancelled meanwhile: nothing to try again
            attempt.next_try_at = None
            history(session, letter, SYSTEM, outcome, reason)
            return
        if final:
            attempt.next_try_at = None
            letter.status = Status.FAILED
            letter.reason = reason
            history(session, letter, SYSTEM, "failed", reason)
        else:
            wait = 0.0 if now or outcome == Outcome.LOST else self.backoff[spent - 1]
            attempt.next_try_at = _now() + timedelta(seconds=wait)
            letter.status = Status.APPROVED
            history(session, letter, SYSTEM, outcome, f"{reason}; trying again in {wait:g} s")
        if outcome == Outcome.FAILED or final:
            await self._announce(
                session,
                letter,
                LetterFailed(
                    letter_id=letter.id,
                    kind=letter.kind,
                    stage=letter.stage,
                    channel=attempt.channel,
                    failed_on=today_in_england(),
                    reason=reason,
                    final=final,
                ),
            )
        log.warning(
            "letter delivery failed",
            **self._ids(letter, attempt),
            outcome=str(outcome),
            permanent=permanent,
            final=final,
        )

    def _wait(self, attempt: DeliveryAttempt) -> float:
        """How long to wait before looking up an attempt whose outcome is unknown."""
        return self.backoff[min(attempt.attempt, len(self.backoff)) - 1]

    def _next_check(self, attempt: DeliveryAttempt) -> datetime | None:
        """When to ask again: soon after sending, then less often (a tenth of its age);
        never past :data:`WATCHED_FOR` (providers forget their notifications)."""
        now = _now()
        age = now - attempt.started_at
        if age > WATCHED_FOR:
            return None
        wait = max(self.poll_seconds, min(MAX_CHECK_SECONDS, age.total_seconds() / 10))
        return now + timedelta(seconds=wait)

    async def _announce(
        self, session: AsyncSession, letter: Letter, *payloads: EventPayload
    ) -> None:
        facts = await session.get(CaseFacts, letter.case_id) if letter.case_id else None
        organisation = (
            facts.organisation if facts else letter.facts.get("organisation")
        ) or self.service.settings.organisation
        directorate = (facts.directorate if facts else letter.facts.get("directorate")) or "unknown"
        await self.service.publish(
            session,
            *(
                new_event(
                    payload,
                    organisation=organisation,
                    directorate=directorate,
                    case_id=letter.case_id,
                    correlation_id=facts.correlation_id if facts else None,
                )
                for payload in payloads
            ),
        )

    @staticmethod
    def _ids(letter: Letter, attempt: DeliveryAttempt) -> dict[str, object]:
        return {
            "letter_id": str(letter.id),
            "kind": letter.kind,
            "attempt": attempt.attempt,
            "channel": attempt.channel,
        }


def register_delivery(
    service: Service, prepare: Prepare, channel: Channel | None = None
) -> Delivery:
    """Deliver ``service``'s approved letters in the background, by the configured channel.

    Returns the worker: call its :meth:`~Delivery.wake` after approving or resending.
    """
    service.publishes(LetterSent, LetterDelivered, LetterFailed, LetterIssued)
    delivery = Delivery(service, channel or load_channel(service.settings), prepare)

    @service.background
    async def deliver_letters() -> None:
        await delivery.run()

    @service.idle_when
    async def nothing_to_send() -> bool:
        if service.settings.letters_paused:
            return True
        async with service.db.read() as session:
            waiting = await session.scalar(select(Letter.id).where(ready(_now())).limit(1))
        return waiting is None

    return delivery
