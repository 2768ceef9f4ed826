"""`socialsell plugin new`: a plugin package that passes its own tests right after generation,
and shows in `socialsell plugins` once installed (all offline, nothing installed globally)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialsell.scaffold import KINDS

ROOT = Path(__file__).resolve().parent.parent


def _env(*paths: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths), "SOCIALSELL_NO_KEYRING": "1"}


def test_every_kind_passes_its_own_tests_as_generated(cli, tmp_path):
    folders = []
    for kind in KINDS:
        result = cli("plugin", "new", f"acme_{kind}", "--kind", kind, "--dir", str(tmp_path))
        assert result.exit_code == 0, result.output
        folder = tmp_path / f"socialsell-acme-{kind}"
        assert f"wrote {folder}/" in result.output
        assert (folder / "pyproject.toml").exists() and (folder / "README.md").exists()
        assert (folder / f"socialsell_acme_{kind}" / "__init__.py").exists()
        folders.append(folder)
    # the generated tests, run with this interpreter and only PYTHONPATH (nothing installed)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         *(str(f / "tests") for f in folders)],
        cwd=tmp_path, env=_env(*folders), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    # the channel runs the whole contract kit (14 checks; metrics skip: it does not read them)
    assert "TestAcmeChannelChannel" not in run.stdout and " passed" in run.stdout
    summary = run.stdout.strip().splitlines()[-1]
    assert "failed" not in summary and "error" not in summary
    # and it is clean by the rules socialsell holds itself to
    ruff = Path(sys.executable).with_name("ruff")
    for folder in folders:
        lint = subprocess.run([str(ruff), "check", "--no-cache", "--select", "E,F,W,I,B,UP,SIM", "."], cwd=folder,
                              capture_output=True, text=True, timeout=120)
        assert lint.returncode == 0, lint.stdout


def test_the_channel_uses_only_the_public_api_and_the_kit(cli, tmp_path):
    cli("plugin", "new", "mastodon", "--dir", str(tmp_path))
    folder = tmp_path / "socialsell-mastodon"
    sources = "\n".join(p.read_text() for p in folder.rglob("*.py"))
    lines = [line.strip() for line in sources.splitlines()]
    imported = {line.split()[1] for line in lines if line.startswith(("from socialsell", "import socialsell"))}
    assert imported == {"socialsell.api", "socialsell.testing", "socialsell_mastodon.channel"}
    pyproject = (folder / "pyproject.toml").read_text()
    assert '[project.entry-points.socialsell]\nmastodon = "socialsell_mastodon"' in pyproject


def test_once_installed_it_shows_in_socialsell_plugins(cli, tmp_path):
    cli("plugin", "new", "mastodon", "--dir", str(tmp_path))
    site = tmp_path / "site"
    # installed into a folder of its own, offline, with this environment's setuptools
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(site), str(tmp_path / "socialsell-mastodon")],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    listed = subprocess.run([sys.executable, "-m", "socialsell", "plugins", "--json"], cwd=tmp_path, env=_env(site),
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    plugin = next(p for p in json.loads(listed.stdout) if p["id"] == "mastodon")
    assert plugin["package"] == "socialsell-mastodon" and plugin["hooks"] == ["register_channels"]
    # its tests, once installed: socialsell's pytest plugin gives the fixtures, and the test that
    # looks the channel up through the entry point runs instead of skipping
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         str(tmp_path / "socialsell-mastodon" / "tests")],
        cwd=tmp_path, env=_env(site), capture_output=True, text=True, timeout=300)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "not installed yet" not in tested.stdout and "2 skipped" in tested.stdout  # metrics and search: it does neither


@pytest.mark.parametrize(("args", "message"), [
    (["Mastodon!"], "plugin name 'Mastodon!': use lower-case letters, digits and _"),
    (["class"], "plugin name 'class': use lower-case letters"),
    (["x"], "plugin name 'x' is taken by an installed plugin"),
    (["mastodon", "--kind", "exporter"], "Invalid value for '--kind'"),
])
def test_bad_input_is_one_line_and_writes_nothing(cli, tmp_path, args, message):
    out = tmp_path / "out"
    out.mkdir()
    result = cli("plugin", "new", *args, "--dir", str(out))
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error: ")]) == 1
    assert list(out.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(cli, tmp_path):
    (tmp_path / "socialsell-mastodon").mkdir()
    (tmp_path / "socialsell-mastodon" / "mine.txt").write_text("keep")
    result = cli("plugin", "new", "mastodon", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {tmp_path / 'socialsell-mastodon'} already exists: choose another name or --dir"
    assert [p.name for p in (tmp_path / "socialsell-mastodon").iterdir()] == ["mine.txt"]
