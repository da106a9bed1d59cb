"""Errors described without the values that caused them (what logs and dead letters get)."""

from __future__ import annotations

import sys

import pytest
from pydantic import BaseModel, EmailStr, ValidationError
from sqlalchemy import Column, MetaData, String, Table, text
from sqlalchemy.exc import DBAPIError

from complaints_shared.db import Database
from complaints_shared.redaction import describe, redacted_traceback

SECRET = "Zebedee Quibblesworth"


class Person(BaseModel):
    name: int
    email: EmailStr


def test_a_validation_error_names_fields_not_values() -> None:
    with pytest.raises(ValidationError) as raised:
        Person(name=SECRET, email=f"{SECRET}@@example.org")
    described = describe(raised.value)
    assert "name: int_parsing" in described and "email: value_error" in described
    assert "Quibblesworth" not in described


async def test_database_errors_name_the_constraint_and_sql_not_values(database_url: str) -> None:
    metadata = MetaData()
    people = Table("people", metadata, Column("name", String(100), primary_key=True))
    database = Database(database_url.replace("{service}", "redaction"), metadata, "redaction")
    try:
        await database.create_schema()
        async with database.transaction() as session:
            await session.execute(people.insert().values(name=SECRET))
        failing = [(people.insert(), {"name": SECRET})]  # PostgreSQL's DETAIL quotes the key
        if database.is_postgres:  # asyncpg quotes an argument it cannot encode
            failing.append((text("SELECT CAST(:v AS integer)"), {"v": SECRET}))
        failures = []
        for statement, values in failing:
            with pytest.raises(DBAPIError) as raised:
                async with database.transaction() as session:
                    await session.execute(statement, values)
            failures.append(raised.value)
    finally:
        await database.dispose()
    assert "Quibblesworth" not in str(failures[0])  # hide_parameters (asyncpg's own text
    # for the second quotes the argument anyway, hence the redaction below)
    for error in failures:
        rendered = redacted_traceback((type(error), error, error.__traceback__))
        assert "Quibblesworth" not in rendered
        assert "[SQL: " in rendered
    assert "people" in describe(failures[0])


def test_a_traceback_keeps_frames_and_chained_causes() -> None:
    try:
        try:
            Person(name=SECRET, email="x")
        except ValidationError as invalid:
            raise RuntimeError("handler failed") from invalid
    except RuntimeError:
        rendered = redacted_traceback(sys.exc_info())  # type: ignore[arg-type]
    assert "test_a_traceback_keeps_frames_and_chained_causes" in rendered
    assert "RuntimeError: handler failed" in rendered and "ValidationError: 2 invalid" in rendered
    assert "Quibblesworth" not in rendered
