"""Sign-in and need-to-know across every service, with tokens from the embedded issuer.

Real NATS, SQLite and PostgreSQL, and the issuer over HTTP: the services fetch its keys
exactly as they would Entra ID's or Keycloak's.
"""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from sqlalchemy import delete, update

from complaints_deadlines.service import create as deadlines
from complaints_intake.service import create as intake
from complaints_learning.service import create as learning
from complaints_letters.service import create as letters
from complaints_reporting.service import create as reporting
from complaints_shared.auth import Role
from complaints_shared.settings import Settings
from complaints_shared.testing.cases import Case
from complaints_shared.testing.harness import Running, eventually, running
from complaints_shared.testing.issuer import AUDIENCE, REDIRECT_URI, LocalIssuer
from complaints_shared.testing.suite import EXAMPLE_COMPLAINT

CO, IO, SM = Role.COMPLAINTS_OFFICER, Role.INVESTIGATING_OFFICER, Role.SERVICE_MANAGER
RV, PR, AD = Role.REPORT_VIEWER, Role.PROVIDER, Role.ADMINISTRATOR
CASES = {CO, IO, SM}
ACTING = {CO, IO}
PUBLIC = None
ANYONE = set(Role)

ACTIONS = [
    "triage",
    "allocate",
    "points",
    "extension",
    "clock-stop",
    "clock-restart",
    "safeguarding",
    "resolution",
    "response",
    "escalation",
    "panel",
    "panel-report",
    "withdrawal",
    "closure",
    "reopening",
    "ombudsman-referral",
    "ombudsman-decision",
    "correction",
    "appointment",
    "feedback",
]

ROUTES: dict[tuple[str, str], set[Role] | None] = {
    ("POST", "/api/v1/complaints"): PUBLIC,
    ("POST", "/api/v1/compliments"): PUBLIC,
    ("GET", "/api/v1/complaints"): CASES,
    ("GET", "/api/v1/complaints/{case_id}"): CASES,
    ("GET", "/api/v1/complaints/{case_id}/history"): CASES,
    **{("POST", f"/api/v1/complaints/{{case_id}}/{action}"): ACTING for action in ACTIONS},
    ("POST", "/api/v1/complaints/{case_id}/restriction"): {CO},
    ("POST", "/api/v1/complaints/{case_id}/legal-hold"): {CO},
    ("POST", "/api/v1/retention/run"): {AD},
    ("GET", "/api/v1/subject-access/intake/cases"): {AD},
    ("GET", "/api/v1/subject-access/letters/{letter_id}/pdf"): {AD},
    **{
        ("GET", f"/api/v1/subject-access/{service}"): {AD}
        for service in ("intake", "deadlines", "letters", "learning")
    },
    ("GET", "/api/v1/compliments"): {CO, SM},
    ("POST", "/api/v1/providers"): {CO, AD},
    ("GET", "/api/v1/providers"): {CO, SM, RV, AD},
    ("GET", "/api/v1/providers/{provider_id}"): {CO, SM, RV, AD},
    ("PUT", "/api/v1/providers/{provider_id}"): {CO, AD},
    ("POST", "/api/v1/providers/import"): {CO, AD},
    ("GET", "/api/v1/providers/unmatched"): {CO, AD},
    ("POST", "/api/v1/providers/{provider_id}/matches"): {CO},
    ("POST", "/api/v1/provider-feed/returns"): {PR},
    ("GET", "/api/v1/provider-feed/returns"): {PR},
    ("GET", "/api/v1/provider-feed/returns/{reference}"): {PR},
    ("PATCH", "/api/v1/provider-feed/returns/{reference}"): {PR},
    ("POST", "/api/v1/provider-feed/returns/{reference}/referral"): {PR},
    ("POST", "/api/v1/provider-feed/nil-returns"): {PR},
    ("GET", "/api/v1/subjects"): ANYONE,
    ("GET", "/api/v1/deadlines"): CASES,
    ("GET", "/api/v1/deadlines/due"): CASES,
    ("GET", "/api/v1/calendar"): ANYONE,
    ("PUT", "/api/v1/calendar/closures/{day}"): {AD},
    ("DELETE", "/api/v1/calendar/closures/{day}"): {AD},
    ("POST", "/api/v1/calendar/announced"): {AD},
    ("GET", "/api/v1/letters"): CASES,
    ("GET", "/api/v1/letters/{letter_id}"): CASES,
    ("GET", "/api/v1/letters/{letter_id}/history"): CASES,
    ("POST", "/api/v1/letters"): ACTING,
    ("PATCH", "/api/v1/letters/{letter_id}"): ACTING,
    ("POST", "/api/v1/letters/{letter_id}/refresh"): ACTING,
    ("POST", "/api/v1/letters/{letter_id}/cancel"): ACTING,
    ("POST", "/api/v1/letters/{letter_id}/resend"): ACTING,
    ("POST", "/api/v1/letters/{letter_id}/approve"): {CO, SM},
    ("GET", "/api/v1/learning-actions"): CASES,
    ("GET", "/api/v1/learning-actions/{action_id}"): CASES,
    ("POST", "/api/v1/learning-actions"): {CO, SM},
    ("PATCH", "/api/v1/learning-actions/{action_id}"): {CO, SM},
    ("POST", "/api/v1/learning-actions/{action_id}/progress"): CASES,
    **{
        ("POST", f"/api/v1/learning-actions/{{action_id}}/{operation}"): {CO, SM}
        for operation in ("complete", "cancel", "reopen")
    },
    ("GET", "/api/v1/you-said-we-did"): {CO, SM},
    ("POST", "/api/v1/you-said-we-did"): {CO, SM},
    ("PATCH", "/api/v1/you-said-we-did/{entry_id}"): {CO, SM},
    ("POST", "/api/v1/you-said-we-did/{entry_id}/publish"): {CO, SM},
    ("POST", "/api/v1/you-said-we-did/{entry_id}/withdraw"): {CO, SM},
    ("GET", "/api/v1/public/you-said-we-did"): PUBLIC,
    ("GET", "/api/v1/learning/themes"): {CO, SM, RV},
    ("GET", "/api/v1/reports/summary"): {RV, CO, SM},
    ("GET", "/api/v1/reports/learning"): {RV, CO, SM},
    ("GET", "/api/v1/reports/providers"): {RV, CO, SM, AD},
    ("GET", "/api/v1/reports/providers/mine"): {PR},
    **{
        ("GET", f"/api/v1/audit/{service}"): {AD}
        for service in ("intake", "deadlines", "letters", "learning", "reporting")
    },
}
"""Every route, and the roles that may use it (any one of them will do)."""

OPEN = {
    "/health/live",
    "/health/ready",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}


def _services(settings: Settings) -> list:
    return [f(settings) for f in (intake, deadlines, letters, learning, reporting)]


def _url(path: str) -> str:
    return (
        path.replace("{case_id}", str(uuid.uuid4()))
        .replace("{letter_id}", str(uuid.uuid4()))
        .replace("{entry_id}", str(uuid.uuid4()))
        .replace("{action_id}", str(uuid.uuid4()))
        .replace("{provider_id}", str(uuid.uuid4()))
        .replace("{reference}", "NO-SUCH-RETURN")
        .replace("{day}", "2026-06-01")
    )


async def test_each_role_may_use_exactly_its_routes(settings: Settings, issuer: LocalIssuer):
    """A table of every route: a role outside it gets a 403 naming the roles, no token a
    401; the OpenAPI document declares the same roles, with readable operation ids.
    The provider's token speaks for a registered provider, as a provider's always does."""
    provider = "only-provider"
    tokens = {
        role: issuer.token(
            issuer.add_client(
                f"only-{role}",
                role,
                directorates=("*",),
                provider=provider if role is PR else None,
            )
        )
        for role in Role
    }
    async with running(settings, *_services(settings)) as suite:
        registered = await suite.http.post(
            "/api/v1/providers",
            json={"code": provider, "name": "Only Provider Ltd", "service_kind": "other"},
        )
        assert registered.status_code == 201, registered.text
        document = suite.host.app.openapi()
        served = {
            (method.upper(), path)
            for path, operations in document["paths"].items()
            for method in operations
            if not path.startswith("/health/")
        }
        assert served == set(ROUTES), "add each new route to ROUTES with its roles"
        for (method, path), roles in ROUTES.items():
            operation = document["paths"][path][method.lower()]
            assert "_api_v1_" not in operation["operationId"], operation["operationId"]
            declared = {role for need in operation["security"] for role in need.get("staff", [])}
            assert declared == (set() if roles in (PUBLIC, ANYONE) else {r.value for r in roles})
            if roles is PUBLIC:
                assert {} in operation["security"]
                continue
            async with suite.client(None) as stranger:
                refused = await stranger.request(method, _url(path), json={})
            assert refused.status_code == 401, (method, path, refused.text)
            assert refused.headers["www-authenticate"].startswith("Bearer")
            for role, token in tokens.items():
                async with suite.client(token) as client:
                    answer = await client.request(method, _url(path), json={})
                if role in roles:
                    assert answer.status_code not in (401, 403), (method, path, role, answer.text)
                else:
                    assert answer.status_code == 403, (method, path, role, answer.text)
                    assert "needs one of the roles" in answer.json()["detail"]
                    assert role.value in answer.json()["detail"]  # what the token has


def _forged(issuer: LocalIssuer, **changes) -> str:
    """A token like the issuer's, changed, signed with the issuer's key unless a key is given."""
    kid, key = issuer.store.signing_keys()[0]
    key = changes.pop("key", key)
    now = int(time.time())
    claims = {
        "iss": issuer.url,
        "aud": AUDIENCE,
        "sub": "client:forger",
        "preferred_username": "forger",
        "iat": now,
        "exp": now + 600,
        "roles": ["complaints_officer"],
        "directorates": ["*"],
        **changes,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_tokens_the_issuer_did_not_sign_for_us_now_are_refused(
    settings: Settings, issuer: LocalIssuer, tmp_path
):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refusals = {
        "signature does not verify": _forged(issuer, key=other_key),
        "expired": _forged(issuer, exp=int(time.time()) - 120),
        "not for this audience": _forged(issuer, aud="another-api"),
        "not issued by": _forged(issuer, iss="http://evil.example"),
        "not a JWT": "not-a-token",
    }
    async with running(settings, intake(settings)) as suite:
        async with suite.client(_forged(issuer)) as genuine:
            assert (await genuine.get("/api/v1/complaints")).status_code == 200
        for why, token in refusals.items():
            async with suite.client(token) as client:
                answer = await client.get("/api/v1/complaints")
            assert answer.status_code == 401, why
            assert why in answer.json()["detail"]
            # A public route takes no token, but refuses a bad one rather than ignore it.
            async with suite.client(token) as client:
                logged = await client.post("/api/v1/complaints", json=EXAMPLE_COMPLAINT)
            assert logged.status_code == 401, why


async def test_a_rotated_key_is_fetched_when_a_token_names_it(
    settings: Settings, issuer: LocalIssuer
):
    async with running(settings, intake(settings)) as suite:
        assert (await suite.http.get("/api/v1/complaints")).status_code == 200  # keys cached
        before = _forged(issuer)
        issuer.rotate_key()
        rotated = _forged(issuer)

        async def accepted() -> bool:
            async with suite.client(rotated) as client:
                return (await client.get("/api/v1/complaints")).status_code == 200

        await eventually(accepted, timeout=20, interval=0.5)
        # The key before stays published: tokens it signed run out, not fail at once.
        async with suite.client(before) as earlier:
            still = await earlier.get("/api/v1/complaints")
            assert still.status_code == 200, still.text


async def test_staff_sign_in_on_the_issuers_page_and_use_the_token(
    settings: Settings, issuer: LocalIssuer
):
    password = issuer.add_user("dee.officer", CO, directorates=("adults",))
    with pytest.raises(PermissionError):
        issuer.sign_in("dee.officer", "wrong password")
    tokens = issuer.sign_in("dee.officer", password)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(
            f"{issuer.url}/authorize",
            params={
                "response_type": "code",
                "client_id": "staff",
                "redirect_uri": REDIRECT_URI,
                "code_challenge": "x" * 43,
                "code_challenge_method": "S256",
            },
        )
    assert 'name="password"' in page.text
    # A browser may post the form and follow the redirect to the client.
    assert "form-action" not in page.headers["content-security-policy"]
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["aud"] == "staff"
    async with running(settings, intake(settings)) as suite:
        case = await Case.log(suite, EXAMPLE_COMPLAINT)
        async with suite.client(tokens["access_token"]) as dee:
            seen = await dee.get(f"/api/v1/complaints/{case.id}")
            assert seen.status_code == 200
            await dee.post(
                f"/api/v1/complaints/{case.id}/allocate",
                json={"officer": "ivy", "allocated_on": "2026-04-02"},
            )
        history = await case.history()
        assert [(h["action"], h["actor"]) for h in history] == [
            ("received", "staff"),
            ("allocate", "dee.officer"),
        ]


class People:
    """One principal per rule of need-to-know, each with its token."""

    def __init__(self, issuer: LocalIssuer) -> None:
        def token(name: str, *roles: Role, **scope) -> str:
            return issuer.token(issuer.add_client(name, *roles, **scope))

        self.adults = token("ada.adults", CO, directorates=("adults",))
        self.childrens = token("cora.childrens", CO, directorates=("childrens",))
        self.ivy = token("ivy", IO)
        self.manager = token("sam.manager", SM, service_areas=("Home care",))
        self.rita = token("rita", IO)
        self.viewer = token("rob.viewer", RV, directorates=("*",))


async def _everything_seen(
    suite: Running, token: str, cases: dict[str, str], letter_ids: dict[str, str]
) -> dict[str, set]:
    """Which of ``cases`` (name: id) each service lets ``token`` see, list by list."""
    names = {case_id: name for name, case_id in cases.items()}
    seen: dict[str, set] = {}
    async with suite.client(token) as client:
        listed = (await client.get("/api/v1/complaints")).json()
        seen["complaints"] = {names[c["id"]] for c in listed if c["id"] in names}
        seen["complaint"] = {
            name
            for name, case_id in cases.items()
            if (await client.get(f"/api/v1/complaints/{case_id}")).status_code == 200
        }
        seen["history"] = {
            name
            for name, case_id in cases.items()
            if (await client.get(f"/api/v1/complaints/{case_id}/history")).status_code == 200
        }
        due = []
        for directorate in ("adults", "childrens"):
            answer = await client.get(
                "/api/v1/deadlines/due", params={"directorate": directorate, "within_days": 60}
            )
            due += answer.json()
        seen["due"] = {names[d["case_id"]] for d in due if d["case_id"] in names}
        seen["deadlines"] = set()
        seen["letters"] = set()
        seen["letter"] = set()
        for name, case_id in cases.items():
            if (await client.get("/api/v1/deadlines", params={"case_id": case_id})).json():
                seen["deadlines"].add(name)
            letters_of = (await client.get("/api/v1/letters", params={"case_id": case_id})).json()
            if letters_of:
                seen["letters"].add(name)
        for name, letter_id in letter_ids.items():
            if (await client.get(f"/api/v1/letters/{letter_id}")).status_code == 200:
                seen["letter"].add(name)
        actions = (await client.get("/api/v1/learning-actions")).json()
        seen["learning"] = {names[a["case_id"]] for a in actions if a["case_id"] in names}
    return seen


async def test_each_person_sees_only_the_cases_they_need_to_in_every_service(
    settings: Settings, issuer: LocalIssuer
):
    """Adults' and children's officers, an investigator, a service manager, and a case
    restricted to one named person: each list and read, in every service, agrees."""
    people = People(issuer)
    async with running(settings, *_services(settings)) as suite:
        home_care = await Case.log(suite, EXAMPLE_COMPLAINT, service_area="Home care")
        fostering = await Case.log(
            suite,
            {**EXAMPLE_COMPLAINT, "directorate": "childrens", "service_area": "Fostering"},
        )
        private = await Case.log(suite, EXAMPLE_COMPLAINT, service_area="Home care")
        await home_care.act("allocate", officer="ivy", allocated_on="2026-04-02")
        await home_care.act("triage", decision="accepted", decided_on="2026-04-02")
        await home_care.act(
            "response",
            responded_on="2026-04-20",
            outcome="upheld",
            learning_actions=[
                {"description": "Rota checks", "owner": "Team lead", "due_on": "2026-06-30"}
            ],
        )
        restricted = await private.act("restriction", people=["rita"], reason="Staff member")
        assert restricted["restricted_to"] == ["rita", "staff"]  # the restrictor stays named
        cases = {"home care": home_care.id, "fostering": fostering.id, "private": private.id}

        async def letters_and_actions() -> dict | None:
            found = {}
            for name, case_id in cases.items():
                letters_of = await suite.http.get("/api/v1/letters", params={"case_id": case_id})
                if not letters_of.json():  # the staff client is named on the private case
                    return None
                found[name] = letters_of.json()[0]["id"]
            actions = await suite.http.get("/api/v1/learning-actions")
            return found if actions.json() else None

        letter_ids = await eventually(letters_and_actions, timeout=30)
        await eventually(suite.quiet, timeout=30)
        # The staff client (every directorate, named on the restricted case) sees all of
        # it: only the open deadlines are due, only the responded case has actions.
        everything = await _everything_seen(suite, issuer.token(), cases, letter_ids)
        assert everything.pop("due") == {"fostering", "private"}
        assert everything.pop("learning") == {"home care"}
        assert all(names == set(cases) for names in everything.values()), everything
        for who, expected in (
            (people.adults, {"home care"}),  # not children's, not the restricted one
            (people.childrens, {"fostering"}),
            (people.ivy, {"home care"}),
            (people.manager, {"home care"}),  # not the restricted one in their area
            (people.rita, {"private"}),
        ):
            seen = await _everything_seen(suite, who, cases, letter_ids)
            for where, names in seen.items():
                wanted = expected & {"home care"} if where == "learning" else expected
                if where == "due":
                    wanted = expected & {"fostering", "private"}
                assert names == wanted, (where, names)
        async with suite.client(people.viewer) as viewer:
            assert (await viewer.get("/api/v1/complaints")).status_code == 403
            assert (await viewer.get("/api/v1/reports/summary")).status_code == 200


async def test_every_read_and_change_is_in_an_append_only_audit_trail(
    settings: Settings, issuer: LocalIssuer
):
    reader = issuer.token(issuer.add_client("ada.adults", CO, directorates=("adults",)))
    async with running(settings, intake(settings)) as suite:
        async with suite.client(None) as public:
            logged = await public.post("/api/v1/complaints", json=EXAMPLE_COMPLAINT)
        case = Case(suite, logged.json())
        async with suite.client(reader) as ada:
            await ada.get(f"/api/v1/complaints/{case.id}")
            await ada.get("/api/v1/complaints")
        trail = (await suite.http.get("/api/v1/audit/intake", params={"case_id": case.id})).json()
        assert [(e["actor"], e["access"], e["what"]) for e in trail] == [
            ("public", "change", "log_complaint"),
            ("ada.adults", "read", "get_complaint"),
            ("ada.adults", "read", "list_complaints"),
        ]
        assert all(e["address"] for e in trail)
        mine = await suite.http.get("/api/v1/audit/intake", params={"actor": "ada.adults"})
        assert len(mine.json()) == 2
        exported = await suite.http.get(
            "/api/v1/audit/intake", params={"case_id": case.id, "format": "csv"}
        )
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.text.splitlines()[0].startswith("seq,at,actor")
        assert len(exported.text.splitlines()) == 4
        async with suite.client(reader) as ada:
            assert (await ada.get("/api/v1/audit/intake")).status_code == 403
        service = suite.host.services[0]
        trail_table = service.audit.table
        for statement in (update(trail_table).values(actor="nobody"), delete(trail_table)):
            with pytest.raises(Exception, match="append-only"):
                async with service.db.transaction() as session:
                    await session.execute(statement)
