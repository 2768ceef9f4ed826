"""The distribution carries the core, the three plugins, the migrations and the templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_has_everything_a_plain_pip_install_needs(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("socialsell-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "socialsell/cli/__init__.py", "socialsell/db/migrations/env.py", "socialsell/db/migrations/script.py.mako",
        "socialsell/db/migrations/versions/0001_baseline.py", "socialsell/shipped_templates/product-launch.j2",
        "socialsell/testing/__init__.py", "socialsell/testing/contract.py", "socialsell/api.py",
        "socialsell/scaffold/templates/common/pyproject.toml.tmpl", "socialsell/scaffold/templates/channel/__module__/channel.py.tmpl",
        "socialsell/scaffold/templates/channel/tests/test_contract.py.tmpl", "socialsell_sandbox/channel.py", "socialsell_x/channel.py",
        "socialsell_linkedin/channel.py",
    ):
        assert needed in names, needed
    meta = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "[socialsell]" in text and "sandbox = socialsell_sandbox" in text and "socialsell = socialsell.cli:main" in text


def test_every_python_package_folder_is_in_the_distribution():
    """A new folder of code without __init__.py (or missing from setup.py) would not ship."""
    from setuptools import find_namespace_packages

    shipped = set(find_namespace_packages(str(ROOT), include=["socialsell*"]))
    for folder in shipped:
        path = ROOT / folder.replace(".", "/")
        if any(path.glob("*.py")) and folder not in ("socialsell.shipped_templates",):
            assert (path / "__init__.py").exists() or folder.startswith("socialsell.db.migrations"), folder
    assert {ep.name for ep in entry_points(group="socialsell")} >= {"sandbox", "x", "linkedin"}


def test_x_weighted_length_works_and_is_quiet_in_a_fresh_interpreter():
    """twitter-text-parser needs pkg_resources (setuptools < 82) and must not print its deprecation."""
    code = "from socialsell_x.text import weighted_length; print(weighted_length('hi 🎉 世界 https://example.com/a/b'))"
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "34" and result.stderr == ""
