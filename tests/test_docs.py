"""The documentation: docs/configuration.md's table names every key the source accepts, and no
other; links resolve; the README stays short."""

import inspect
import re
from pathlib import Path
from typing import Set

from linkedin_leads import linkedin_leads
from linkedin_leads.api.credentials import LinkedInAccessTokenCredentials, LinkedInOAuthCredentials
from linkedin_leads.config.keys import known_keys
from linkedin_leads.settings import RUNNER_SETTINGS, SOURCE_SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def readme_keys() -> Set[str]:
    """The keys in the first column of the table under "## Every key" of docs/configuration.md."""
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = page.split("\n## Every key\n", 1)[1].split("\n## ", 1)[0]
    keys: Set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            keys.update(re.findall(r"`([a-z_.]+)`", line.split("|")[1]))
    return keys


def source_keys() -> Set[str]:
    """Every argument of the source, the credentials by each of their fields, and the keys of the
    same section that the runners read (the script and the receiver)."""
    keys = {name for name in inspect.signature(linkedin_leads).parameters if name != "credentials"}
    keys.update(RUNNER_SETTINGS)
    for spec in (LinkedInOAuthCredentials, LinkedInAccessTokenCredentials):
        keys.update(f"credentials.{name}" for name in spec.get_resolvable_fields())
    return keys


def test_every_config_key_is_in_the_configuration_table() -> None:
    assert readme_keys() == source_keys()


def test_documentation_links_resolve() -> None:
    """Every relative link of the README and of docs/ points at a file of the repository."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) > 5
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken


def test_the_keys_the_source_accepts_are_the_keys_it_checks() -> None:
    """``config.check_keys`` refuses what is not in ``known_keys``: it must know every argument."""
    assert set(SOURCE_SETTINGS) == set(inspect.signature(linkedin_leads).parameters)
    assert {k for k in known_keys() if not k.startswith("notifications.")} == source_keys()


def test_config_toml_lists_every_key() -> None:
    text = (ROOT / ".dlt" / "config.toml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^# ([a-z_]+) = ", text, re.M))
    assert listed == {k for k in source_keys() if not k.startswith("credentials.")}


def test_the_version_is_kept_in_one_place_and_released_in_the_changelog() -> None:
    import re

    from linkedin_leads import __version__
    from linkedin_leads.settings import VERSION

    assert __version__ == VERSION
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = { attr = "linkedin_leads.settings.VERSION" }' in pyproject
    # the package's dependencies are the requirements files, not a copy of them
    assert 'dependencies = { file = ["requirements.txt"] }' in pyproject
    releases = re.findall(r"^## (\S+) \((\d{4}-\d{2}-\d{2})\)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases and releases[0][0] == VERSION, releases[:1]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    newest = changelog.split(f"## {VERSION} ", 1)[1].split("\n## ", 1)[0]
    assert "### Upgrade" in newest


def test_the_readme_is_read_in_five_minutes() -> None:
    """At most 160 lines and 12 KB; the run and test commands first."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 160 and len(readme.encode()) <= 12 * 1024
    blocks = readme.split("```sh\n")
    assert "linkedin_leads_pipeline.py --demo" in blocks[1] and "pytest" in blocks[2]
