"""Template packs and a council's override folder: which template a letter is written from."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
from jinja2 import TemplateNotFound, UndefinedError
from structlog.testing import capture_logs

from complaints_letters.packs import TemplatePacks, long_date, money
from complaints_shared.runtime.cli import main
from complaints_shared.settings import Settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def marked(mark: str) -> str:
    """An acknowledgement override that says where it came from."""
    return f"""
        {{% extends "layout.html.j2" %}}
        {{% block body %}}<p>{mark} for {{{{ reference }}}}</p>{{% endblock %}}
    """


@pytest.fixture
def overrides(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    write(folder / "acknowledgement.html.j2", marked("EVERYONE"))
    write(folder / "demo" / "acknowledgement.html.j2", marked("DEMO"))
    write(folder / "demo" / "adults" / "acknowledgement.html.j2", marked("DEMO ADULTS"))
    return folder


def test_the_most_specific_override_wins_then_the_built_in_pack(
    overrides: Path, letter_context
) -> None:
    packs = TemplatePacks(Settings(letters_templates_dir=overrides))
    context = letter_context()
    assert packs.problems == []

    def text(organisation: str, directorate: str) -> str:
        return packs.render("acknowledgement", context, organisation, directorate).html

    assert "DEMO ADULTS for ASC-2026-00001" in text("demo", "adults")
    assert "DEMO for" in text("demo", "childrens") and "ADULTS" not in text("demo", "childrens")
    assert "EVERYONE for" in text("other", "adults")
    rendered = packs.render("acknowledgement", context, "demo", "adults")
    assert rendered.template == "acknowledgement.html.j2"
    assert rendered.source == "override demo/adults"
    assert packs.render("acknowledgement", context, "other", "").source == (
        "override all organisations"
    )

    (overrides / "acknowledgement.html.j2").unlink()
    built_in = TemplatePacks(Settings(letters_templates_dir=overrides))
    rendered = built_in.render("acknowledgement", context, "other", "adults")
    assert rendered.source == "pack standard"
    assert "We have received your complaint" in rendered.html
    # Every override extends the built-in layout: the letterhead and address are there.
    assert "Our reference: <strong>ASC-2026-00001</strong>" in text("demo", "adults")
    assert "Flat 2" in text("demo", "adults")


def test_a_slug_that_is_not_one_cannot_reach_outside_the_folder(
    overrides: Path, letter_context
) -> None:
    write(overrides.parent / "acknowledgement.html.j2", marked("OUTSIDE"))
    packs = TemplatePacks(Settings(letters_templates_dir=overrides))
    html = packs.render("acknowledgement", letter_context(), "..", "..").html
    assert "OUTSIDE" not in html and "EVERYONE" in html


def test_a_council_letterhead_replaces_the_built_in_one_in_every_letter(
    tmp_path: Path, letter_context
) -> None:
    logo = "data:image/png;base64,iVBORw0KGgo="
    write(
        tmp_path / "demo" / "letterhead.html.j2",
        f'<img src="{logo}" alt="{{{{ organisation_name }}}}"><div>Civic Centre</div>',
    )
    packs = TemplatePacks(Settings(letters_templates_dir=tmp_path))
    for variant in ("standard", "large_print", "easy_read"):
        html = packs.render(
            "acknowledgement", letter_context(variant=variant), "demo", "", variant
        ).html
        assert logo in html and "Civic Centre" in html
    other = packs.render("acknowledgement", letter_context(), "elsewhere", "").html
    assert logo not in other


def test_a_bad_override_is_reported_with_file_and_line_and_the_pack_used(
    tmp_path: Path, letter_context
) -> None:
    bad = write(
        tmp_path / "demo" / "adults" / "acknowledgement.html.j2",
        """
        {% extends "layout.html.j2" %}
        {% block body %}
        <p>{% if reference %}unclosed</p>
        {% endblock %}
        """,
    )
    filter_typo = write(tmp_path / "demo" / "letterhead.html.j2", "{{ organisation_name | shout }}")
    with capture_logs() as logs:
        packs = TemplatePacks(Settings(letters_templates_dir=tmp_path))

    assert {(p.path, p.line) for p in packs.problems} == {(str(bad), 4), (str(filter_typo), 1)}
    errors = [entry for entry in logs if entry["log_level"] == "error"]
    assert {(entry["path"], entry["line"]) for entry in errors} == {
        (str(bad), 4),
        (str(filter_typo), 1),
    }
    assert "shout" in str(next(p for p in packs.problems if p.path == str(filter_typo)))

    rendered = packs.render("acknowledgement", letter_context(), "demo", "adults")
    assert rendered.source == "pack standard"
    assert "We have received your complaint" in rendered.html
    assert '<div class="organisation">Demo Council</div>' in rendered.html


def test_an_override_that_fails_while_rendering_falls_back_without_logging_the_letter(
    tmp_path: Path, letter_context
) -> None:
    failing = write(
        tmp_path / "demo" / "acknowledgement.html.j2",
        """
        {% extends "layout.html.j2" %}
        {% block body %}
        <p>{{ recipient.name }}</p>
        <p>{{ council_tax_band }}</p>
        {% endblock %}
        """,
    )
    packs = TemplatePacks(Settings(letters_templates_dir=tmp_path))
    assert packs.problems == []  # it compiles: the variable is missing only at render time
    with capture_logs() as logs:
        rendered = packs.render("acknowledgement", letter_context(), "demo", "adults")
    assert rendered.source == "pack standard"
    assert "We have received your complaint" in rendered.html
    [error] = [entry for entry in logs if entry["log_level"] == "error"]
    assert error["path"] == str(failing) and error["line"] == 4
    assert "council_tax_band" in error["error"]
    assert "Ann Example" not in repr(logs) and "Flat 2" not in repr(logs)


def test_the_packs_own_failure_is_raised_not_hidden(tmp_path: Path, letter_context) -> None:
    write(tmp_path / "demo" / "letterhead.html.j2", "<div>{{ organisation_name }}</div>")
    packs = TemplatePacks(Settings(letters_templates_dir=tmp_path))
    context = letter_context()
    del context["response_due_on"]
    with pytest.raises(UndefinedError, match="response_due_on"):
        packs.render("acknowledgement", context, "demo", "adults")


def test_variants_are_chosen_by_file_name_and_fall_back_to_the_standard_letter(
    tmp_path: Path, letter_context
) -> None:
    packs = TemplatePacks(Settings())

    def render(variant: str, organisation: str = "demo"):
        context = letter_context(variant=variant)
        return packs.render("acknowledgement", context, organisation, "adults", variant)

    assert render("standard").template == "acknowledgement.html.j2"
    large = render("large_print")
    assert large.template == "acknowledgement.large_print.html.j2"
    assert "font-size: 16pt" in large.html and "We have received your complaint" in large.html
    easy = render("easy_read")
    assert easy.template == "acknowledgement.easy_read.html.j2"
    assert "We got your complaint" in easy.html
    assert "Tuesday 12 January 2027" in easy.html and "Tuesday 1 December 2026" in easy.html
    assert render("braille").template == "acknowledgement.html.j2"  # no such file: standard

    # A council's own standard acknowledgement: large print is its words, large (the
    # built-in large print file only extends the standard one); easy read stays built in.
    write(tmp_path / "demo" / "acknowledgement.html.j2", marked("OUR WORDS"))
    packs = TemplatePacks(Settings(letters_templates_dir=tmp_path))
    large = render("large_print")
    assert "OUR WORDS" in large.html and "font-size: 16pt" in large.html
    assert large.source == "pack standard"  # the file chosen; it extends the council's
    assert "OUR WORDS" not in render("easy_read").html
    # ...until the council writes its own easy read version too.
    write(tmp_path / "demo" / "acknowledgement.easy_read.html.j2", marked("OUR EASY WORDS"))
    packs = TemplatePacks(Settings(letters_templates_dir=tmp_path))
    assert "OUR EASY WORDS" in render("easy_read").html


def test_letters_are_escaped_strict_and_have_the_real_contact_details(letter_context) -> None:
    settings = Settings()
    packs = TemplatePacks(settings)
    context = letter_context(
        recipient={"name": "Ann <script>alert(1)</script>", "address_lines": ["1 High St"]}
    )
    html = packs.render("acknowledgement", context, "demo", "adults").html
    assert "<script>" not in html and "&lt;script&gt;" in html
    contact = settings.complaints_contact
    assert contact.phone in html and contact.email in html and contact.web in html
    assert "discuss with you how your complaint will be handled" in html
    assert "will not affect" in html and "advocate" in html
    assert "Yours sincerely" in html

    # Every procedure, not only adults', offers the discussion; children get the advocacy
    # service; someone we cannot name is "Sir or Madam", signed off "faithfully".
    childrens = letter_context(
        procedure="childrens",
        salutation="Dear Sir or Madam",
        recipient={"name": None, "address_lines": ["1 High St", "AB1 2CD"]},
    )
    html = packs.render("acknowledgement", childrens, "demo", "childrens").html
    assert "discuss with you how your complaint will be handled" in html
    assert "children's\nadvocacy service" in html or "children's advocacy service" in html
    assert "Dear Sir or Madam" in html and "Yours faithfully" in html

    del context["reference"]
    with pytest.raises(UndefinedError):
        packs.render("acknowledgement", context, "demo", "adults")
    with pytest.raises(TemplateNotFound):
        packs.render("no_such_letter", context, "demo", "adults")


def test_the_escalation_acknowledgement_extends_the_layout(letter_context) -> None:
    context = letter_context(
        stage=2,
        stage_name="investigation",
        requested_on=date(2027, 2, 1),
        due_on=date(2027, 4, 26),
        dating="response",
        people={"investigating_officer": "Sam Officer"},
    )
    rendered = TemplatePacks(Settings()).render("escalation_acknowledgement", context, "demo", "")
    assert "Your request for investigation (Stage 2)" in rendered.html
    assert "Sam Officer will investigate" in rendered.html
    assert "Monday 26 April 2027" in rendered.html
    assert 'class="recipient print-only"' in rendered.html  # the layout's address block


def test_filters() -> None:
    assert long_date(date(2026, 12, 7)) == "Monday 7 December 2026"
    assert money(1250) == "£1,250.00"
    assert money("99.5") == "£99.50"
    assert money(-5) == "-£5.00"
    with pytest.raises(ValueError):
        money("lots")


def test_the_listing_and_the_command_say_where_each_template_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = write(tmp_path / "demo" / "adults" / "acknowledgement.html.j2", marked("X"))
    head = write(tmp_path / "demo" / "letterhead.html.j2", "<div>{{ organisation_name }}</div>")
    packs = TemplatePacks(Settings(letters_templates_dir=tmp_path))
    listed = {(item.name, item.variant): item for item in packs.listing("demo", "adults")}
    assert listed["acknowledgement", "standard"].source == "override demo/adults"
    assert listed["acknowledgement", "standard"].path == str(ours)
    assert listed["letterhead", "standard"].source == "override demo"
    assert listed["acknowledgement", "easy_read"].source == "pack standard"
    assert listed["layout", "standard"].source == "pack standard"
    assert {item.source for item in packs.listing("demo", "")} >= {"override demo"}
    assert listed["acknowledgement", "standard"] not in packs.listing("demo", "")

    monkeypatch.setenv("COMPLAINTS_LETTERS_TEMPLATES_DIR", str(tmp_path))
    assert main(["letters", "templates", "--organisation", "demo", "--directorate", "adults"]) == 0
    out = capsys.readouterr().out
    lines = {" ".join(line.split()[:3]): line for line in out.splitlines()}
    assert f"override demo/adults: {ours}" in lines["acknowledgement standard override"]
    assert f"override demo: {head}" in lines["letterhead standard override"]
    assert "pack standard" in lines["acknowledgement large_print pack"]
    assert "Packs, in order: standard (complaints-letters)" in out

    bad = write(tmp_path / "demo" / "notice.html.j2", "{% if %}")
    assert main(["letters", "templates"]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:1:" in captured.err
    # Left out (the built-in pack has no "notice" template to fall back to here).
    assert not [line for line in captured.out.splitlines() if line.startswith("notice")]


def install_pack(site: Path, distribution: str, pack: str, templates: dict[str, str]) -> Path:
    """A council's distribution with a template pack, installed on ``site`` (a sys.path
    entry): its metadata, entry point and folder of templates, as pip would leave them."""
    module = distribution.replace("-", "_")
    for filename, text in templates.items():
        write(site / module / "templates" / filename, text)
    write(
        site / module / "__init__.py",
        'from pathlib import Path\n\nTEMPLATES = Path(__file__).parent / "templates"\n',
    )
    info = site / f"{module}-1.0.dist-info"
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n")
    write(
        info / "entry_points.txt", f"[complaints.letter_templates]\n{pack} = {module}:TEMPLATES\n"
    )
    return site / module / "templates"


def test_installed_packs_come_before_the_built_in_one_by_name_and_overrides_before_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, letter_context
) -> None:
    site = tmp_path / "site"
    install_pack(
        site,
        "zeta-council-letters",
        "zeta",
        {"acknowledgement.html.j2": marked("ZETA"), "letterhead.html.j2": "<div>ZETA HEAD</div>"},
    )
    alpha = install_pack(
        site,
        "alpha-council-letters",
        "alpha",
        {"acknowledgement.html.j2": marked("ALPHA"), "notice.html.j2": "{% if %}"},
    )
    write(site / "broken_pack-1.0.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: b\n")
    write(
        site / "broken_pack-1.0.dist-info" / "entry_points.txt",
        "[complaints.letter_templates]\nbroken = no_such_module:TEMPLATES\n",
    )
    monkeypatch.syspath_prepend(str(site))

    packs = TemplatePacks(Settings(letters_templates_dir=tmp_path / "none-yet"))
    assert [pack.name for pack in packs.packs] == ["alpha", "zeta", "standard"]
    problems = {str(problem) for problem in packs.problems}
    assert any("broken" in problem and "no_such_module" in problem for problem in problems)
    assert f"{alpha / 'notice.html.j2'}:1: " in " ".join(problems)

    rendered = packs.render("acknowledgement", letter_context(), "demo", "adults")
    assert "ALPHA for" in rendered.html and rendered.source == "pack alpha"
    assert "ZETA HEAD" in rendered.html  # alpha has no letterhead: zeta's comes next
    listed = {(item.name, item.variant): item.source for item in packs.listing("demo", "")}
    assert listed["letterhead", "standard"] == "pack zeta"
    assert listed["layout", "standard"] == "pack standard"
    assert ("notice", "standard") not in listed  # broken, and nothing else has one

    write(tmp_path / "none-yet" / "demo" / "acknowledgement.html.j2", marked("FOLDER"))
    packs = TemplatePacks(Settings(letters_templates_dir=tmp_path / "none-yet"))
    assert "FOLDER for" in packs.render("acknowledgement", letter_context(), "demo", "").html
