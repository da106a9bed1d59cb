"""Configuration from the environment (``COMPLAINTS_*``), as in a container.

``complaints up`` fills in embedded defaults (bundled nats-server, SQLite files in
the data folder); ``complaints run <service>`` takes everything from here.
Nested values are JSON, e.g. ``COMPLAINTS_DIRECTORATES='{"adults": {...}}'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, NamedTuple

import limits
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from complaints_shared.calendar import DayInRange
from complaints_shared.procedures import Procedure, configured_procedures
from complaints_shared.taxonomy import DEFAULT_SUBJECTS

SLUG = r"^[a-z0-9_-]+$"


class NatsCredentials(NamedTuple):
    """A NATS user and its password: one per service (``runtime/nats_permissions.py``)."""

    user: str
    password: str

    def __repr__(self) -> str:  # never the password, in a log or a traceback
        return f"NatsCredentials(user={self.user!r})"


class DirectorateConfig(BaseModel):
    """One directorate: which procedure its complaints follow and its reference series."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    procedure: str = Field(pattern=SLUG)
    reference_prefix: str = Field(pattern=r"^[A-Z]{2,6}$")


class ContactDetails(BaseModel):
    """How a complainant reaches the complaints team: printed on every letter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: tuple[str, ...] = Field(min_length=1, max_length=7)
    phone: str | None = None
    email: str | None = None
    web: str | None = None


DEFAULT_CONTACT = ContactDetails(
    address=("Customer Relations Team", "Demo Council", "Town Hall", "High Street", "DT1 1AA"),
    phone="01234 567890",
    email="complaints@demo-council.example",
    web="https://www.demo-council.example/complaints",
)


DEFAULT_DIRECTORATES = {
    "adults": DirectorateConfig(
        name="Adult Social Care", procedure="adults", reference_prefix="ASC"
    ),
    "childrens": DirectorateConfig(
        name="Children's Services", procedure="childrens", reference_prefix="CSC"
    ),
    "corporate": DirectorateConfig(
        name="Corporate", procedure="corporate", reference_prefix="CORP"
    ),
}


class Settings(BaseSettings):
    """Everything a service process needs to know about where it runs."""

    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_", extra="ignore")

    organisation: str = Field(default="demo", pattern=SLUG)
    organisation_name: str = "Demo Council"
    complaints_team: str = "Customer Relations Team"
    directorates: dict[str, DirectorateConfig] = Field(
        default_factory=lambda: dict(DEFAULT_DIRECTORATES)
    )
    subjects: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_SUBJECTS),
        description="Each directorate's complaint subjects (the primary area of concern).",
    )
    procedures: tuple[Procedure, ...] = Field(
        default=(), description="A council's own procedures (JSON), beside the installed ones."
    )
    procedure_overrides: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description='Timescale overrides, e.g. {"adults": {"1.response": 25}}.',
    )
    closures: dict[str, dict[DayInRange, str]] = Field(
        default_factory=dict,
        description="Closure days by organisation: {org: {date: reason}}, within the "
        "working-day calendar's range.",
    )
    bank_holidays_file: Path | None = Field(
        default=None, description="Announced holidays in GOV.UK's bank-holidays.json format."
    )
    reminder_days: int = Field(default=2, ge=0, description="Remind this many working days ahead.")
    timer_poll_seconds: float = Field(default=1.0, gt=0)
    scope: str = Field(
        default="*",
        pattern=r"^(\*|[a-z0-9_-]+)$",
        description="Directorate whose events this deployment consumes; * for all.",
    )

    nats_url: str | None = Field(
        default=None, description="nats://host:port; unset under `up` starts a bundled server."
    )
    nats_user: str | None = Field(
        default=None,
        description="The NATS user a service connects as (`complaints run`); each service has "
        "its own, with only the permissions it needs. Unset: no user (an open server); "
        "`complaints up` makes one per service for its bundled server.",
    )
    nats_password: SecretStr | None = Field(default=None, description="That user's password.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; `{service}` is replaced by the service name. "
        "Unset means one SQLite file per service in data_dir.",
    )
    data_dir: Path = Path("data")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)

    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")

    max_deliver: int = Field(
        default=5,
        ge=2,
        description="Deliveries before a message is parked; also how often the bus may refuse "
        "an outbox event before it is parked.",
    )
    retry_backoff: tuple[float, ...] = Field(
        default=(1.0, 5.0, 30.0, 120.0),
        min_length=1,
        description="Seconds to wait before redelivering after the 1st, 2nd... failure.",
    )

    stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Copies JetStream keeps of each stream it creates (3 on a 3-server cluster).",
    )
    stream_max_age_days: float = Field(
        default=0,
        ge=0,
        description="Days a stream it creates keeps a message; 0: as long as the shortest "
        "retention period (events carry personal data, and a case's events are never younger "
        "than its end, so none outlives its case's retention).",
    )
    stream_max_bytes: int = Field(
        default=-1,
        ge=-1,
        description="Bytes a stream it creates may hold before dropping its oldest; -1: no limit.",
    )

    max_event_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="The largest event (body and headers) a service may stage; a request that "
        "would make a larger one is refused with a 422. Keep it within NATS's max_payload "
        "(1 MiB by default); a server that announces less lowers it.",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="The largest HTTP request body accepted; a larger one gets a 413.",
    )

    oidc_issuer: str | None = Field(
        default=None,
        description="The OpenID Connect issuer staff sign in with (its URL, as in the tokens' "
        "`iss`); unset under `up` runs the embedded one. Entra ID: "
        "https://login.microsoftonline.com/<tenant>/v2.0; Keycloak: https://<host>/realms/<realm>.",
    )
    oidc_audience: str = Field(
        default="complaints",
        description="The `aud` every token must carry (Entra ID: the API's application id).",
    )
    oidc_algorithms: tuple[str, ...] = Field(
        default=("RS256", "PS256", "ES256"), min_length=1, description="Signing algorithms taken."
    )
    oidc_username_claim: str = Field(
        default="preferred_username",
        description="The claim naming the person (allocations and restrictions name them by it).",
    )
    oidc_roles_claim: str = Field(
        default="roles",
        description="The claim holding roles; dotted for nested claims "
        "(Keycloak: realm_access.roles).",
    )
    oidc_role_names: dict[str, str] = Field(
        default_factory=dict,
        description='The issuer\'s role names mapped to ours, e.g. {"Complaints.Officer": '
        '"complaints_officer"}; names already ours need no entry.',
    )
    oidc_directorates_claim: str = Field(
        default="directorates", description="The claim listing a person's directorates (* = all)."
    )
    oidc_service_areas_claim: str = Field(
        default="service_areas", description="The claim listing a manager's service areas."
    )
    oidc_provider_claim: str = Field(
        default="provider",
        description="The claim naming the commissioned provider (its code in the register) a "
        "provider's client credentials speak for.",
    )
    oidc_keys_refresh_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How long the issuer's keys are cached; a token signed by an unknown key "
        "fetches them at once (at most every 10 s).",
    )

    retention_years: dict[str, int] = Field(
        default_factory=dict,
        description="Years a case is kept after it ends, by directorate or directorate.kind, "
        'e.g. {"childrens": 10, "adults.representation": 3}; the rest keep '
        "default_retention_years.",
    )
    default_retention_years: int = Field(default=6, ge=1, le=100)
    retention_check_seconds: float = Field(
        default=86_400.0, gt=0, description="How often intake looks for cases past retention."
    )

    complaints_contact: ContactDetails = Field(
        default=DEFAULT_CONTACT,
        description="The complaints team's postal address, phone, email and web page, "
        'printed on every letter (JSON, e.g. {"address": ["Complaints Team", "Town Hall", '
        '"High Street", "AB1 2CD"], "phone": "01234 567890", "email": "complaints@..."}).',
    )
    letters_templates_dir: Path | None = Field(
        default=None,
        description="A folder of the council's own letter templates and letterhead, overriding "
        "the installed packs by name: <dir>/<template>, <dir>/<organisation>/<template> or "
        "<dir>/<organisation>/<directorate>/<template> (the most specific wins).",
    )
    letters_approval: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {"*": ("response", "holding", "clock_stopped")},
        description="Which kinds of letter a second person must approve, by directorate "
        '("*" for the rest), e.g. {"*": ["response"], "childrens": ["response", "holding"]}.',
    )
    letters_automatic_holding: bool = Field(
        default=False,
        description="Send holding letters without an officer's words when an extension, a clock "
        "stop or a reminder for an unanswered case calls for one (otherwise drafted for the "
        "officer).",
    )
    letters_channel: str = Field(
        default="local",
        pattern=SLUG,
        description="The delivery channel plugin letters go out by (complaints.letter_channels): "
        "`local` writes them to <data_dir>/outbox, `notify` sends them by GOV.UK Notify.",
    )
    letters_retry_backoff: tuple[float, ...] = Field(
        default=(60.0, 300.0, 1800.0, 7200.0),
        min_length=1,
        description="Seconds before trying a failed delivery again after the 1st, 2nd... "
        "failure; when they run out the letter is failed and shown to the team.",
    )
    letters_paused: bool = Field(
        default=False,
        description="Send nothing new: approved letters wait (a wrong template found, the "
        "channel's outage); drafting, approval and following letters already sent go on.",
    )
    letters_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often letters looks for letters to send or to check."
    )
    letters_send_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds one call to the delivery channel may take. A send with no answer "
        "after twice this (its process died) is looked up at the channel and sent again only "
        "if the channel never got it.",
    )
    notify_api_key: SecretStr | None = Field(
        default=None, description="GOV.UK Notify API key (for the `notify` channel)."
    )
    notify_base_url: str = Field(
        default="https://api.notifications.service.gov.uk", description="GOV.UK Notify's API."
    )
    notify_email_template_id: str | None = Field(
        default=None,
        description="The Notify email template letters are sent with: its subject is "
        "((subject)), its body ((body)), and it links the PDF as ((letter)).",
    )
    notify_email_pdf: bool = Field(
        default=True,
        description="Link each emailed letter as a PDF (((letter)) in the email template). "
        "Off: the email carries the letter's words alone and no PDF is rendered (a PDF costs "
        "about a tenth of a second of CPU per letter); take ((letter)) out of the template.",
    )

    learning_reminder_days: int = Field(
        default=5,
        ge=0,
        description="Remind a learning action's lead this many working days before it is due "
        "(0: no reminder before the due date).",
    )
    learning_escalation_days: int = Field(
        default=10,
        ge=1,
        description="Tell the service area's manager when a learning action is this many "
        "working days overdue.",
    )
    learning_managers: dict[str, str] = Field(
        default_factory=dict,
        description='Who is told of an overdue learning action, by service area ("*" for the '
        'rest): an email address, e.g. {"Home care": "hc.manager@council.gov.uk", "*": '
        '"complaints.manager@council.gov.uk"}.',
    )
    learning_chasing: Literal["each", "digest"] = Field(
        default="each",
        description="How leads are chased: `each` reminder as its own email, or a `digest` per "
        "lead a day.",
    )

    def approval_needed(self, directorate: str, kind: str) -> bool:
        """Whether a second person must approve a letter of ``kind`` in ``directorate``."""
        kinds = self.letters_approval.get(directorate, self.letters_approval.get("*", ()))
        return kind in kinds

    def stream_max_age_seconds(self) -> float:
        """How long a stream this process creates keeps an event (see stream_max_age_days)."""
        if self.stream_max_age_days:
            return self.stream_max_age_days * 86_400
        shortest = min((*self.retention_years.values(), self.default_retention_years))
        return shortest * 365 * 86_400.0

    def retention_for(self, directorate: str, kind: str) -> int:
        """Years a case of ``kind`` in ``directorate`` is kept after it ends."""
        years = self.retention_years
        return years.get(
            f"{directorate}.{kind}", years.get(directorate, self.default_retention_years)
        )

    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Origins (comma-separated, e.g. https://forms.council.example) whose pages "
        "may call the API from a browser; none by default.",
    )
    public_rate_limit: str = Field(
        default="30/minute",
        description="Requests each client address may make to the routes anyone may call "
        "(logging a complaint or compliment), in the `limits` notation, e.g. 20/minute or "
        "100/hour; over it is a 429.",
    )
    hsts_seconds: int = Field(
        default=0,
        ge=0,
        description="Send Strict-Transport-Security with this max-age; set it when the API is "
        "served over TLS (0: not sent).",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return (
            tuple(o.strip() for o in value.split(",") if o.strip())
            if isinstance(value, str)
            else value
        )

    @field_validator("public_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        limits.parse(value)  # a ValueError naming the notation if it is not one
        return value

    def nats_credentials(self) -> NatsCredentials | None:
        """Who this process connects to NATS as, if the environment says."""
        if self.nats_user is None:
            return None
        password = self.nats_password.get_secret_value() if self.nats_password else ""
        return NatsCredentials(self.nats_user, password)

    def database_url_for(self, service: str) -> str:
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.data_dir.resolve() / service}.db"
        return self.database_url.replace("{service}", service)

    def configured_procedures(self) -> dict[str, Procedure]:
        """The procedures this deployment uses: installed, the council's own, overridden."""
        return configured_procedures(self.procedures, self.procedure_overrides)

    def directorate(self, slug: str) -> DirectorateConfig:
        try:
            return self.directorates[slug]
        except KeyError:
            known = ", ".join(sorted(self.directorates))
            raise KeyError(f"unknown directorate {slug!r}; configured: {known}") from None
