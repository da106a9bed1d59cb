"""Deadlines from real case events, on real NATS and both databases.

Every expected date is worked out by hand from the England and Wales bank holidays;
the comment beside it shows the count.
"""

from __future__ import annotations

from datetime import date

from complaints_deadlines.service import create
from complaints_shared.auth import Role
from complaints_shared.contracts.events import (
    CaseEscalated,
    CaseExtended,
    CaseResponded,
    CaseWithdrawn,
    ClockRestarted,
    ClockStopped,
    PanelHeld,
    PanelReported,
)
from complaints_shared.contracts.vocabulary import ClockStopReason, DeadlineKind, Outcome
from complaints_shared.settings import Settings
from complaints_shared.testing.events import acknowledgement_letter, case_received, case_responded
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.issuer import LocalIssuer


async def deadlines_of(suite: Running, case_id) -> list[dict]:
    answer = await suite.http.get("/api/v1/deadlines", params={"case_id": str(case_id)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def by_kind(deadlines: list[dict], stage: int = 1) -> dict[str, dict]:
    return {d["kind"]: d for d in deadlines if d["stage"] == stage}


async def until(suite: Running, case_id, check) -> list[dict]:
    async def probe():
        found = await deadlines_of(suite, case_id)
        return found if check(found) else None

    return await eventually(probe)


async def test_adults_across_christmas_with_the_six_month_limit(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        # Wed 23 Dec 2026: Christmas Fri 25, Boxing Day Sat 26 -> substitute Mon 28 Dec,
        # New Year Fri 1 Jan 2027.
        received = case_received(settings, received_on=date(2026, 12, 23))
        await suite.publish(received)
        found = by_kind(await until(suite, received.case_id, lambda d: len(d) == 3))
        # 3 days: Thu 24 (1), Tue 29 (2), Wed 30 (3).
        assert found["acknowledgement"]["due"] == "2026-12-30"
        # 20 days: 24, 29, 30, 31 Dec (4), 4-8 Jan (9), 11-15 (14), 18-22 (19), Mon 25 (20).
        response = found["response"]
        assert response["due"] == "2027-01-25"
        assert [s["reason"] for s in response["skipped"]] == [
            "Christmas Day",
            "Boxing Day (observed)",
            "New Year's Day",
        ]
        assert response["start"] == "2026-12-23" and response["working_days"] == 20
        assert "2009 Regulations" in response["rule"]
        limit = found["statutory_limit"]
        assert (limit["due"], limit["calendar_months"]) == ("2027-06-23", 6)


async def test_corporate_response_counts_from_the_actual_acknowledgement(
    settings: Settings,
) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, directorate="corporate", received_on=date(2026, 12, 23))
        await suite.publish(received)
        first = by_kind(await until(suite, received.case_id, lambda d: len(d) == 2))
        # Acknowledge in 5: 24, 29, 30, 31 Dec, Mon 4 Jan; respond 10 after: 5-8, 11-15, 18 Jan.
        assert (first["acknowledgement"]["due"], first["response"]["due"]) == (
            "2027-01-04",
            "2027-01-18",
        )
        # Acknowledged early, on 29 Dec: 10 days from then are 30, 31 Dec, 4-8 Jan, 11-13 Jan.
        await suite.publish(acknowledgement_letter(received, issued_on=date(2026, 12, 29)))
        moved = by_kind(
            await until(
                suite, received.case_id, lambda d: by_kind(d)["response"]["due"] == "2027-01-13"
            )
        )
        assert moved["response"]["start"] == "2026-12-29"
        assert moved["response"]["changes"][0]["old_due_on"] == "2027-01-18"
        assert "actual acknowledgement" in moved["response"]["changes"][0]["reason"]


async def test_a_response_met_before_its_acknowledgement_is_heard_of_is_judged_again(
    settings: Settings,
) -> None:
    """Letters and cases travel on different streams: the letter may come after the response."""
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, directorate="corporate", received_on=date(2026, 12, 23))
        await suite.publish(received)
        await until(suite, received.case_id, lambda d: len(d) == 2)
        # Answered Wed 20 Jan: late against 18 Jan, dated from the acknowledgement's due date.
        await suite.publish(case_responded(received, responded_on=date(2027, 1, 20)))
        late = by_kind(
            await until(suite, received.case_id, lambda d: by_kind(d)["response"]["met_on"])
        )
        assert late["response"]["breached"] is True
        # The letter went out on Wed 6 Jan: 10 working days from then end on 20 Jan.
        await suite.publish(acknowledgement_letter(received, issued_on=date(2027, 1, 6)))
        judged = by_kind(
            await until(
                suite, received.case_id, lambda d: by_kind(d)["response"]["due"] == "2027-01-20"
            )
        )
        assert (judged["response"]["status"], judged["response"]["breached"]) == ("met", False)
        assert judged["response"]["start"] == "2027-01-06"


async def test_childrens_three_stages_each_from_the_actual_date_before(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        # Thu 25 Mar 2027: Good Friday 26 Mar, Easter Monday 29 Mar.
        received = case_received(settings, directorate="childrens", received_on=date(2027, 3, 25))
        await suite.publish(received)
        stage1 = by_kind(await until(suite, received.case_id, lambda d: len(d) == 2))
        # 3 days: 30, 31 Mar, 1 Apr. 10 days: 30, 31 Mar, 1, 2, 5-9, 12 Apr.
        assert stage1["acknowledgement"]["due"] == "2027-04-01"
        assert stage1["response"]["due"] == "2027-04-12"

        await suite.publish(case_responded(received, responded_on=date(2027, 4, 9)))
        window = by_kind(
            await until(suite, received.case_id, lambda d: "escalation_window" in by_kind(d))
        )["escalation_window"]
        # The complainant's 20 days from Fri 9 Apr: 12-16, 19-23, 26-30 Apr, 3 May is
        # the early May bank holiday, 4-7 May (19), Mon 10 May (20).
        assert window["due"] == "2027-05-10"

        await suite.publish(
            received.caused(
                CaseEscalated(to_stage=2, requested_on=date(2027, 4, 20), within_window=True)
            )
        )
        stage2 = by_kind(await until(suite, received.case_id, lambda d: len(d) >= 4), stage=2)
        # 25 days from Tue 20 Apr: 21-23 (3), 26-30 (8), 4-7 May (12, 3 May a holiday),
        # 10-14 (17), 17-21 (22), 24, 25, 26 May (25).
        assert stage2["response"]["due"] == "2027-05-26"

        await suite.publish(_respond_stage(received, 2, date(2027, 5, 24)))
        await until(suite, received.case_id, lambda d: "escalation_window" in by_kind(d, 2))
        await suite.publish(
            received.caused(
                CaseEscalated(to_stage=3, requested_on=date(2027, 6, 1), within_window=True)
            )
        )
        stage3 = by_kind(await until(suite, received.case_id, lambda d: len(by_kind(d, 3)) == 3), 3)
        # Panel within 30 of Tue 1 Jun: 2-4 (3), 7-11 (8), 14-18 (13), 21-25 (18),
        # 28 Jun-2 Jul (23), 5-9 (28), 12, 13 Jul (30).
        assert stage3["panel"]["due"] == "2027-07-13"

        await suite.publish(received.caused(PanelHeld(held_on=date(2027, 7, 8))))
        # Report within 5 of the actual panel, Thu 8 Jul: 9, 12, 13, 14, 15 Jul.
        await until(
            suite, received.case_id, lambda d: by_kind(d, 3)["panel_report"]["due"] == "2027-07-15"
        )
        await suite.publish(received.caused(PanelReported(reported_on=date(2027, 7, 14))))
        # The council's response within 15 of the report, Wed 14 Jul: 15, 16, 19-23,
        # 26-30 Jul, 2, 3, 4 Aug.
        final = by_kind(
            await until(
                suite, received.case_id, lambda d: by_kind(d, 3)["response"]["due"] == "2027-08-04"
            ),
            3,
        )
        assert final["panel"]["status"] == "met" and final["panel_report"]["status"] == "met"


def _respond_stage(received, stage: int, on: date):
    return received.caused(CaseResponded(responded_on=on, outcome=Outcome.NOT_UPHELD, stage=stage))


async def test_a_clock_stop_moves_the_dates_by_the_working_days_paused(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, received_on=date(2026, 4, 2))
        await suite.publish(received)
        await until(suite, received.case_id, lambda d: len(d) == 3)
        await suite.publish(
            received.caused(
                ClockStopped(reason=ClockStopReason.AWAITING_CONSENT, stopped_on=date(2026, 4, 14))
            )
        )
        paused = await until(
            suite, received.case_id, lambda d: by_kind(d)["response"]["status"] == "paused"
        )
        assert by_kind(paused)["response"]["due"] == "2026-05-05"
        # Stopped Tue 14 Apr, restarted Tue 21 Apr: 15, 16, 17, 20, 21 = 5 working days.
        await suite.publish(received.caused(ClockRestarted(restarted_on=date(2026, 4, 21))))
        resumed = by_kind(
            await until(
                suite, received.case_id, lambda d: by_kind(d)["response"]["status"] == "open"
            )
        )
        # 5 May + 5 working days: 6, 7, 8, 11, 12 May.
        assert resumed["response"]["due"] == "2026-05-12"
        assert resumed["response"]["paused_days"] == 5
        assert "5 working days added" in resumed["response"]["changes"][-1]["reason"]


async def test_an_extension_moves_the_response_and_says_why(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, directorate="childrens", received_on=date(2027, 3, 25))
        await suite.publish(received)
        await until(suite, received.case_id, lambda d: len(d) == 2)
        await suite.publish(
            received.caused(
                CaseExtended(
                    stage=1,
                    step=DeadlineKind.RESPONSE,
                    working_days=20,
                    reason="Social worker on leave",
                    agreed_on=date(2027, 4, 1),
                )
            )
        )
        # 20 days from 25 Mar: 30 Mar-2 Apr (4), 5-9 (9), 12-16 (14), 19-23 (19), 26 Apr (20).
        extended = by_kind(
            await until(
                suite, received.case_id, lambda d: by_kind(d)["response"]["due"] == "2027-04-26"
            )
        )
        assert extended["response"]["working_days"] == 20
        assert "Social worker on leave" in extended["response"]["changes"][0]["reason"]
        subject = f"complaints.{settings.organisation}.childrens.deadline.rescheduled.v1"
        [event] = await eventually(lambda: suite.events(subject))
        assert (event.payload["old_due_on"], event.payload["new_due_on"]) == (
            "2027-04-12",
            "2027-04-26",
        )


async def test_withdrawal_cancels_what_is_open(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, received_on=date(2026, 4, 2))
        await suite.publish(received)
        await until(suite, received.case_id, lambda d: len(d) == 3)
        await suite.publish(received.caused(CaseWithdrawn(withdrawn_on=date(2026, 4, 8))))
        done = await until(
            suite, received.case_id, lambda d: all(x["status"] == "cancelled" for x in d)
        )
        assert len(done) == 3
        subject = f"complaints.{settings.organisation}.adults.deadline.cancelled.v1"
        assert len(await eventually(lambda: _at_least(suite.events(subject), 3))) == 3


async def test_a_calendar_change_moves_open_deadlines_on_record(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, received_on=date(2026, 4, 2))
        met_early = case_received(settings, received_on=date(2026, 4, 2))
        await suite.publish(received)
        await suite.publish(met_early)
        await until(suite, received.case_id, lambda d: len(d) == 3)
        await until(suite, met_early.case_id, lambda d: len(d) == 3)
        await suite.publish(case_responded(met_early, responded_on=date(2026, 4, 10)))
        await until(suite, met_early.case_id, lambda d: by_kind(d)["response"]["status"] == "met")

        # The council closes on Mon 27 Apr 2026 (an IT migration).
        answer = await suite.http.put(
            "/api/v1/calendar/closures/2026-04-27", json={"reason": "Office move"}
        )
        assert answer.json() == {"day": "2026-04-27", "added": True, "deadlines_moved": 1}
        moved = by_kind(await deadlines_of(suite, received.case_id))
        assert moved["response"]["due"] == "2026-05-06"  # one working day later than 5 May
        assert moved["acknowledgement"]["due"] == "2026-04-09"  # ended before the closure
        change = moved["response"]["changes"][-1]
        assert (change["old_due_on"], change["new_due_on"]) == ("2026-05-05", "2026-05-06")
        assert "Office move" in change["reason"]
        assert {"day": "2026-05-04", "reason": "Office move"} not in moved["response"]["skipped"]
        assert {"day": "2026-04-27", "reason": "Office move"} in moved["response"]["skipped"]
        assert by_kind(await deadlines_of(suite, met_early.case_id))["response"]["changes"] == []

        days = (
            await suite.http.get(
                "/api/v1/calendar", params={"from": "2026-04-01", "to": "2026-05-31"}
            )
        ).json()
        assert [(d["day"], d["source"]) for d in days] == [
            ("2026-04-03", "bank holiday"),
            ("2026-04-06", "bank holiday"),
            ("2026-04-27", "closure"),
            ("2026-05-04", "bank holiday"),
            ("2026-05-25", "bank holiday"),
        ]
        changed = f"complaints.{settings.organisation}.all.calendar.changed.v1"
        [event] = await eventually(lambda: suite.events(changed))
        assert (event.payload["day"], event.payload["deadlines_moved"]) == ("2026-04-27", 1)

        back = await suite.http.delete("/api/v1/calendar/closures/2026-04-27")
        assert back.json()["deadlines_moved"] == 1
        assert (
            by_kind(await deadlines_of(suite, received.case_id))["response"]["due"] == "2026-05-05"
        )
        assert (await suite.http.delete("/api/v1/calendar/closures/2026-04-27")).status_code == 404


async def test_announced_holidays_load_from_govuk_format(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, received_on=date(2026, 4, 2))
        await suite.publish(received)
        await until(suite, received.case_id, lambda d: len(d) == 3)
        document = {
            "england-and-wales": {
                "division": "england-and-wales",
                "events": [
                    {"title": "Good Friday", "date": "2026-04-03", "notes": "", "bunting": False},
                    {
                        "title": "Royal celebration",
                        "date": "2026-04-20",
                        "notes": "",
                        "bunting": True,
                    },
                ],
            },
            "scotland": {"division": "scotland", "events": []},
        }
        answer = (await suite.http.post("/api/v1/calendar/announced", json=document)).json()
        assert answer == {"added": ["2026-04-20"], "deadlines_moved": 1}
        assert (
            by_kind(await deadlines_of(suite, received.case_id))["response"]["due"] == "2026-05-06"
        )
        bad = await suite.http.post("/api/v1/calendar/announced", json={"scotland": {}})
        assert bad.status_code == 422
        [error] = bad.json()["detail"]  # the documented 422: a list naming what is wrong
        assert error["loc"] == ["body", "england-and-wales"] and "GOV.UK" in error["msg"]


async def test_calendar_changes_name_who_made_them_and_keep_their_sources_apart(
    settings: Settings, issuer: LocalIssuer
) -> None:
    """The actor is the signed-in administrator, from the token (no header can say otherwise)."""
    admin = issuer.add_client("calendar.officer", Role.ADMINISTRATOR)
    async with running(settings, create(settings), token=issuer.token(admin)) as suite:
        document = {
            "england-and-wales": {
                "division": "england-and-wales",
                "events": [{"title": "Royal celebration", "date": "2026-04-20"}],
            }
        }
        officer = {"X-Actor": "someone.else"}  # ignored: the token says who acts
        await suite.http.post("/api/v1/calendar/announced", json=document, headers=officer)
        same_day = await suite.http.put(
            "/api/v1/calendar/closures/2026-04-20", json={"reason": "Staff day"}, headers=officer
        )
        assert same_day.json()["added"] is False
        # Deleting "the closure" on that day must not take away the announced holiday.
        removed = await suite.http.delete("/api/v1/calendar/closures/2026-04-20", headers=officer)
        assert removed.status_code == 404
        await suite.http.put(
            "/api/v1/calendar/closures/2026-04-21", json={"reason": "Staff day"}, headers=officer
        )
        days = await suite.http.get(
            "/api/v1/calendar", params={"from": "2026-04-20", "to": "2026-04-21"}
        )
        assert [(d["day"], d["source"], d["actor"]) for d in days.json()] == [
            ("2026-04-20", "announced", "calendar.officer"),
            ("2026-04-21", "closure", "calendar.officer"),
        ]
        subject = f"complaints.{settings.organisation}.all.calendar.changed.v1"
        changes = await eventually(lambda: _at_least_two(suite.events(subject)))
        assert [(e.payload["source"], e.payload["actor"]) for e in changes] == [
            ("announced", "calendar.officer"),
            ("closure", "calendar.officer"),
        ]


async def _at_least_two(pending):
    found = await pending
    return found if len(found) >= 2 else None


async def test_matters_older_than_twelve_months_carry_a_warning(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, received_on=date(2026, 4, 2))
        old = received.model_copy(
            update={"payload": {**received.payload, "matter_arose_on": "2025-03-01"}}
        )
        await suite.publish(old)
        found = by_kind(await until(suite, old.case_id, lambda d: len(d) == 3))
        assert "more than 12 months" in found["response"]["warnings"][0]
        subject = f"complaints.{settings.organisation}.adults.deadline.scheduled.v1"
        events = await eventually(lambda: _at_least(suite.events(subject), 3))
        assert any(e.payload["warnings"] for e in events)


async def test_a_council_overrides_a_timescale_in_configuration(settings: Settings) -> None:
    settings = settings.model_copy(update={"procedure_overrides": {"adults": {"1.response": 25}}})
    async with running(settings, create(settings)) as suite:
        received = case_received(settings, received_on=date(2026, 4, 2))
        await suite.publish(received)
        found = by_kind(await until(suite, received.case_id, lambda d: len(d) == 3))
        # 20 days end 5 May; 5 more: 6, 7, 8, 11, 12 May.
        assert found["response"]["due"] == "2026-05-12"
        assert "overridden by the council: 25" in found["response"]["rule"]


async def test_a_procedure_nobody_configured_is_parked_not_guessed(settings: Settings) -> None:
    async with running(settings, create(settings)) as suite:
        event = case_received(settings, procedure="housing")
        await suite.publish(event)
        subject = f"dead_letter.complaints.{settings.organisation}.>"
        parked = await eventually(
            lambda: _at_least(suite.messages("COMPLAINTS_DEAD_LETTERS", subject), 1), timeout=20
        )
        assert "no procedure named 'housing'" in parked[0].headers["Complaints-Error"]
        assert await deadlines_of(suite, event.case_id) == []


async def _at_least(pending, n: int):
    found = await pending
    return found if len(found) >= n else None
