"""Brand templates: front matter, per-channel variants, strict rendering and the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from socialsell.errors import UsageError
from socialsell.marketing.templates import find_template, load_template_file, render
from tests.test_marketing import snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "marketing"

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'].system('id') }}",
    "{{ ''|attr('__class__') }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ 'x'.format_map }}",
    "{{ self._TemplateReference__context }}",
    "{{ namespace.__init__ }}",
]


def add_accounts(workspace: Path, extra: str) -> None:
    workspace.write_text(workspace.read_text() + extra)


def write_template(workspace: Path, name: str, text: str) -> Path:
    path = workspace.parent / "templates" / f"{name}.j2"
    path.write_text(text)
    return path


def test_templates_list_shows_shipped_and_workspace_templates(cli, workspace):
    write_template(workspace, "mine", '+++\ntitle = "Mine"\nrequires = ["who"]\nchannels = ["sandbox"]\n+++\nHi {{ who }}')
    result = cli("templates", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert {"tip", "product-launch", "webinar", "customer-story", "mine"} <= set(rows)
    assert rows["mine"]["title"] == "Mine" and rows["mine"]["requires"] == ["who"]
    human = cli("templates", "list")
    assert "Mine" in human.output and "product" in human.output


def test_preview_shows_exact_text_and_length_against_the_limit(cli):
    result = cli("templates", "preview", "tip", "--channel", "sandbox", "--var", "tip=Answer within an hour")
    assert result.exit_code == 0, result.output
    header, body = result.output.strip().split("\n", 1)
    assert body == "Tip of the week: Answer within an hour #salestips"
    assert header == f"--- sandbox: {len(body)}/500 characters"


def test_per_channel_blocks_pick_the_channel_type_then_default(cli, workspace):
    add_accounts(workspace, '\n[[accounts]]\nname = "acme-x"\nchannel = "x"\n')
    result = cli("templates", "preview", "product-launch", "-c", "acme-x", "-c", "sandbox", "--var", "product=Relay", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["account"]: r for r in json.loads(result.output)}
    assert rows["acme-x"]["text"].startswith("Relay is live: follow up with every person")
    assert rows["sandbox"]["text"].startswith("Relay is live: every engagement becomes a follow-up")
    assert rows["acme-x"]["limit"] == 280 and rows["sandbox"]["limit"] == 500
    # the link is tagged per channel (utm_source = the channel type)
    assert "utm_source=x&utm_medium=social" in rows["acme-x"]["text"]
    assert "utm_source=sandbox&utm_medium=social" in rows["sandbox"]["text"]


def test_missing_variable_is_one_line_and_exit_2(cli):
    result = cli("templates", "preview", "product-launch", "--channel", "sandbox")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Error: template product-launch: missing variable product (pass --var product=...)"
    ]


def test_undefined_variable_without_requires_is_an_error_not_empty(cli, workspace):
    write_template(workspace, "loose", "Hello {{ name }}, see {{ link }}")
    result = cli("templates", "preview", "loose", "--channel", "sandbox", "--var", "name=Ann")
    assert result.exit_code == 2
    assert "'link'" in result.stderr or "link" in result.stderr
    assert result.stdout == ""


def test_syntax_error_names_the_line_of_the_file(cli, workspace):
    shutil.copy(FIXTURES / "bad-syntax.j2", workspace.parent / "templates" / "bad-syntax.j2")
    result = cli("templates", "preview", "bad-syntax", "--channel", "sandbox", "--var", "product=X")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    # the {% if %} on line 6 of the file (after 4 lines of front matter) is never closed
    assert lines[0].startswith("Error: template bad-syntax: Unexpected end of template.")
    assert lines[0].endswith("(line 6)")


def test_syntax_error_line_counts_the_front_matter(tmp_path):
    path = tmp_path / "t.j2"
    path.write_text('+++\ntitle = "t"\n+++\nline four\n{{ oops( }}\n')
    with pytest.raises(UsageError, match=r"\(line 5\)"):
        render(load_template_file(path), {}, channel_type="sandbox")


def test_bad_front_matter_is_a_clear_error(cli, workspace):
    write_template(workspace, "badmeta", "+++\ntitle = \n+++\nhi")
    result = cli("templates", "preview", "badmeta", "--channel", "sandbox")
    assert result.exit_code == 2
    assert "front matter is not valid TOML" in result.stderr


@pytest.mark.parametrize("body", ESCAPES)
def test_sandbox_refuses_python_internals(cli, workspace, body):
    write_template(workspace, "evil", f"+++\ntitle = 'x'\n+++\nbefore {body} after")
    result = cli("templates", "preview", "evil", "--channel", "sandbox")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # never a half-rendered post
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused by the sandbox" in lines[0], lines


@pytest.mark.parametrize("body", ESCAPES[:3])
def test_post_new_from_an_evil_template_stores_nothing(cli, app, workspace, body):
    write_template(workspace, "evil", body)
    before = snapshot(app)
    result = cli("post", "new", "--channel", "sandbox", "--template", "evil", "--queue")
    assert result.exit_code == 2
    assert snapshot(app) == before


def test_runtime_error_in_a_template_is_a_usage_error(tmp_path):
    path = tmp_path / "t.j2"
    path.write_text("{{ 1 / 0 }}")
    with pytest.raises(UsageError, match="cannot render"):
        render(load_template_file(path), {}, channel_type="sandbox")


def test_no_block_for_the_channel_and_no_default(tmp_path):
    path = tmp_path / "t.j2"
    path.write_text("{% block linkedin %}long{% endblock %}")
    with pytest.raises(UsageError, match="no block for channel 'x'"):
        render(load_template_file(path), {}, channel_type="x")
    assert render(load_template_file(path), {}, channel_type="linkedin") == "long"


def test_front_matter_values_are_variables_and_hashtags_join(workspace):
    tmpl = find_template("tip", workspace.parent)
    assert tmpl.requires == ["tip"]
    assert render(tmpl, {"tip": "Reply fast."}, channel_type="sandbox") == "Tip of the week: Reply fast. #salestips"


def test_template_default_channels_and_campaign_are_used(cli, app, workspace):
    assert cli("campaign", "new", "Spring", "--hashtag", "spring").exit_code == 0
    write_template(workspace, "spring", '+++\ntitle = "s"\nchannels = ["sandbox"]\ncampaign = "Spring"\n+++\nSpring is here')
    result = cli("post", "new", "--template", "spring", "--queue", "--json")
    assert result.exit_code == 0, result.output
    post = json.loads(result.output)[0]
    assert post["campaign"] == "Spring"
    assert [d["account"] for d in post["deliveries"]] == ["sandbox"]
    assert post["deliveries"][0]["text"] == "Spring is here #spring"


def test_front_matter_utm_names_the_campaign_or_turns_tagging_off(cli, workspace):
    write_template(workspace, "tagged", '+++\nutm = "launch26"\n+++\nSee https://acme.example/a')
    write_template(workspace, "untagged", "+++\nutm = false\n+++\nSee https://acme.example/a")
    tagged = json.loads(cli("templates", "preview", "tagged", "-c", "sandbox", "--json").output)[0]["text"]
    assert tagged == "See https://acme.example/a?utm_source=sandbox&utm_medium=social&utm_campaign=launch26"
    untagged = json.loads(cli("templates", "preview", "untagged", "-c", "sandbox", "--json").output)[0]["text"]
    assert untagged == "See https://acme.example/a"
