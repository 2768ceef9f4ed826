"""Maps the plugin packages (plugins/) and the shipped templates (templates/) into one distribution.

Everything else about the project is in pyproject.toml.
"""

from setuptools import find_packages, setup

PLUGINS = ["socialsell_sandbox", "socialsell_x", "socialsell_linkedin", "socialsell_bluesky"]

packages = find_packages(".", include=["socialsell", "socialsell.*"])
packages += find_packages("plugins", include=[f"{p}*" for p in PLUGINS])
packages += ["socialsell.shipped_templates", "socialsell.db.migrations", "socialsell.db.migrations.versions"]

package_dir = {p: f"plugins/{p}" for p in PLUGINS}
package_dir["socialsell.shipped_templates"] = "templates"

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        "socialsell.shipped_templates": ["*.j2", "*.md"],
        "socialsell.db.migrations": ["script.py.mako"],
        "socialsell.scaffold": ["templates/*/*", "templates/*/*/*"],  # `plugin new`
    },
)
