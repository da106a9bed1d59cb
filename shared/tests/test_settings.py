"""Settings come from COMPLAINTS_* environment variables, as in a container."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pydantic
import pytest
from pydantic_settings import SettingsError
from sqlalchemy import make_url

from complaints_shared.settings import DEFAULT_DIRECTORATES, DirectorateConfig, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No COMPLAINTS_* variable from the developer's shell leaks into these tests."""
    for name in list(os.environ):
        if name.upper().startswith("COMPLAINTS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # and no stray .env or data folder is picked up


def test_defaults():
    settings = Settings()
    assert settings.organisation == "demo"
    assert settings.scope == "*"
    assert settings.nats_url is None
    assert settings.database_url is None
    assert settings.data_dir == Path("data")
    assert settings.http_port == 8000
    assert set(settings.directorates) == {"adults", "childrens", "corporate"}
    assert settings.directorate("childrens").procedure == "childrens"


def test_reads_complaints_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("COMPLAINTS_ORGANISATION", "cheshire-east")
    monkeypatch.setenv("COMPLAINTS_ORGANISATION_NAME", "Cheshire East Council")
    monkeypatch.setenv("COMPLAINTS_COMPLAINTS_TEAM", "Customer Relations")
    monkeypatch.setenv("COMPLAINTS_SCOPE", "childrens")
    monkeypatch.setenv("COMPLAINTS_NATS_URL", "nats://nats:4222")
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", "postgresql+asyncpg://app@db/{service}")
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COMPLAINTS_HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("COMPLAINTS_HTTP_PORT", "8080")
    monkeypatch.setenv("COMPLAINTS_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("COMPLAINTS_LOG_FORMAT", "console")
    monkeypatch.setenv("COMPLAINTS_MAX_DELIVER", "7")
    monkeypatch.setenv("COMPLAINTS_RETRY_BACKOFF", "[2, 10.5, 60]")
    settings = Settings()
    assert settings.organisation == "cheshire-east"
    assert settings.organisation_name == "Cheshire East Council"
    assert settings.complaints_team == "Customer Relations"
    assert settings.scope == "childrens"
    assert settings.nats_url == "nats://nats:4222"
    assert settings.database_url == "postgresql+asyncpg://app@db/{service}"
    assert settings.data_dir == tmp_path / "state"
    assert settings.http_host == "0.0.0.0"
    assert settings.http_port == 8080
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "console"
    assert settings.max_deliver == 7
    assert settings.retry_backoff == (2.0, 10.5, 60.0)


def test_ignores_variables_without_the_prefix(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ORGANISATION", "elsewhere")
    monkeypatch.setenv("HTTP_PORT", "9999")
    monkeypatch.setenv("COMPLAINTS_SOMETHING_NEW", "ignored, not an error")
    settings = Settings()
    assert settings.organisation == "demo"
    assert settings.http_port == 8000


def test_directorates_from_json(monkeypatch: pytest.MonkeyPatch):
    directorates = {
        "adults": {
            "name": "Adults, Health and Integration",
            "procedure": "adults",
            "reference_prefix": "AHI",
        },
        "childrens": {
            "name": "Children and Families",
            "procedure": "childrens",
            "reference_prefix": "CF",
        },
    }
    monkeypatch.setenv("COMPLAINTS_DIRECTORATES", json.dumps(directorates))
    settings = Settings()
    # The configured directorates replace the defaults; they are not merged into them.
    assert set(settings.directorates) == {"adults", "childrens"}
    assert settings.directorate("adults") == DirectorateConfig(
        name="Adults, Health and Integration", procedure="adults", reference_prefix="AHI"
    )
    assert settings.directorate("childrens").reference_prefix == "CF"
    with pytest.raises(KeyError):
        settings.directorate("corporate")


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(
            {"name": "Adults", "procedure": "adults", "reference_prefix": "a"}, id="prefix"
        ),
        pytest.param(
            {"name": "Adults", "procedure": "Adults!", "reference_prefix": "ASC"}, id="slug"
        ),
        pytest.param({"name": "Adults", "reference_prefix": "ASC"}, id="missing-procedure"),
        pytest.param(
            {"name": "Adults", "procedure": "adults", "reference_prefix": "ASC", "colour": "red"},
            id="unknown-field",
        ),
    ],
)
def test_invalid_directorates_are_rejected(monkeypatch: pytest.MonkeyPatch, bad: dict):
    monkeypatch.setenv("COMPLAINTS_DIRECTORATES", json.dumps({"adults": bad}))
    with pytest.raises(pydantic.ValidationError, match="directorates"):
        Settings()


def test_directorates_must_be_json(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COMPLAINTS_DIRECTORATES", "adults=ASC")
    with pytest.raises(SettingsError, match="directorates"):
        Settings()


def test_database_url_with_service_placeholder():
    settings = Settings(database_url="postgresql+asyncpg://complaints:secret@db:5432/{service}")
    assert settings.database_url_for("intake") == (
        "postgresql+asyncpg://complaints:secret@db:5432/intake"
    )
    assert settings.database_url_for("deadlines") == (
        "postgresql+asyncpg://complaints:secret@db:5432/deadlines"
    )


def test_database_url_without_placeholder_is_shared():
    url = "postgresql+asyncpg://complaints@db/complaints"
    settings = Settings(database_url=url)
    assert settings.database_url_for("intake") == url
    assert settings.database_url_for("letters") == url


def test_database_url_from_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "COMPLAINTS_DATABASE_URL", "postgresql+asyncpg://app@db/complaints_{service}"
    )
    assert Settings().database_url_for("reporting") == (
        "postgresql+asyncpg://app@db/complaints_reporting"
    )


def test_default_database_is_one_sqlite_file_per_service_in_data_dir(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "state")
    intake = make_url(settings.database_url_for("intake"))
    letters = make_url(settings.database_url_for("letters"))
    assert intake.drivername == "sqlite+aiosqlite"
    assert Path(intake.database) == tmp_path / "state" / "intake.db"
    assert Path(letters.database) == tmp_path / "state" / "letters.db"


def test_default_database_path_is_absolute_for_a_relative_data_dir(tmp_path: Path):
    # The fixture runs every test in tmp_path, so the relative default "data" is in it.
    url = make_url(Settings().database_url_for("deadlines"))
    assert Path(url.database).is_absolute()
    assert Path(url.database) == tmp_path.resolve() / "data" / "deadlines.db"


def test_data_dir_from_environment_sets_the_sqlite_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path / "var"))
    url = make_url(Settings().database_url_for("learning"))
    assert Path(url.database) == tmp_path / "var" / "learning.db"


def test_unknown_directorate_names_the_configured_ones():
    settings = Settings()
    with pytest.raises(KeyError) as caught:
        settings.directorate("housing")
    message = caught.value.args[0]
    assert "'housing'" in message
    assert "configured: adults, childrens, corporate" in message


def test_known_directorate():
    assert Settings().directorate("corporate") == DEFAULT_DIRECTORATES["corporate"]


@pytest.mark.parametrize(
    "organisation",
    ["Cheshire East", "cheshire.east", "cheshire*", "cheshire>", "", "Demo", "west/berks"],
)
def test_invalid_organisation_slug_is_rejected(monkeypatch: pytest.MonkeyPatch, organisation: str):
    # The slug becomes a NATS subject token: dots, wildcards and spaces would break routing.
    monkeypatch.setenv("COMPLAINTS_ORGANISATION", organisation)
    with pytest.raises(pydantic.ValidationError, match="organisation"):
        Settings()


@pytest.mark.parametrize("organisation", ["cheshire-east", "west_berkshire", "demo2"])
def test_valid_organisation_slugs(organisation: str):
    assert Settings(organisation=organisation).organisation == organisation


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COMPLAINTS_SCOPE", "adults.childrens"),
        ("COMPLAINTS_SCOPE", ">"),
        ("COMPLAINTS_HTTP_PORT", "70000"),
        ("COMPLAINTS_HTTP_PORT", "eighty"),
        ("COMPLAINTS_LOG_FORMAT", "xml"),
        ("COMPLAINTS_MAX_DELIVER", "1"),
        ("COMPLAINTS_RETRY_BACKOFF", "[]"),
        # A closure day the working-day calendar does not cover (1990 to 2099).
        ("COMPLAINTS_CLOSURES", '{"demo": {"1970-01-01": "Epoch"}}'),
        ("COMPLAINTS_CLOSURES", '{"demo": {"2100-01-04": "Too late"}}'),
    ],
)
def test_other_invalid_values_are_rejected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
):
    monkeypatch.setenv(variable, value)
    field = variable.removeprefix("COMPLAINTS_").lower()
    with pytest.raises(pydantic.ValidationError, match=field):
        Settings()


def test_closures_inside_the_calendar_are_kept(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COMPLAINTS_CLOSURES", '{"demo": {"2026-04-27": "Office move"}}')
    assert Settings().closures == {"demo": {date(2026, 4, 27): "Office move"}}


def test_a_closure_outside_the_calendar_says_why(monkeypatch: pytest.MonkeyPatch):
    """Before, 1 Jan 1970 loaded; deadlines then stored and announced it at start-up."""
    monkeypatch.setenv("COMPLAINTS_CLOSURES", '{"demo": {"1970-01-01": "Epoch"}}')
    with pytest.raises(pydantic.ValidationError, match="1990-01-01 to 2099-12-31"):
        Settings()
