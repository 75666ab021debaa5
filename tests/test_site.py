"""The documentation site: it builds strictly and offline, its internal links
resolve, and its generated references agree with the code.

The site is built once per run with ``mkdocs build --strict`` (any warning —
a broken link or anchor, a missing include, a docstring mkdocstrings cannot
read — fails it) into a temporary directory, with every proxy pointed at a
closed port so that a build that fetches anything fails.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import attrs
import pytest

from maintguard.control.cli.parser import build_parser
from tests import snippets

ROOT = snippets.ROOT
sys.path.insert(0, str(ROOT / "docs"))
import hooks  # noqa: E402  (docs/hooks.py: the generators the site uses)

#: Nothing listens on port 9 of the loopback: a fetch through it fails at once.
CLOSED = "http://127.0.0.1:9"


@attrs.frozen
class Built:
    site: Path
    output: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The site, built once for this module."""
    site = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "HTTP_PROXY": CLOSED,
        "HTTPS_PROXY": CLOSED,
        "http_proxy": CLOSED,
        "https_proxy": CLOSED,
        "NO_PROXY": "",
        "no_proxy": "",
        "NO_MKDOCS_2_WARNING": "1",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        # From elsewhere than the checkout: includes resolve from mkdocs.yml.
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{output[-4000:]}")
    return Built(site, output)


def test_site_builds_without_a_warning(built: Built) -> None:
    """`mkdocs build --strict` succeeds and prints no warning."""
    assert [] == [line for line in built.output.splitlines() if "WARNING" in line]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        values = dict(attrs_)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag in ("script", "img", "link", "iframe") and (values.get("src") or values.get("href")):
            self.assets.append(str(values.get("src") or values.get("href")))


def _pages(site: Path) -> dict[Path, _Page]:
    pages = {}
    for html in sorted(site.rglob("*.html")):
        page = _Page()
        page.feed(html.read_text(encoding="utf-8"))
        pages[html] = page
    return pages


def _target(site: Path, page: Path, href: str) -> tuple[Path, str] | None:
    """The file and anchor an internal link points at (None: external)."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if not path:
        target = page
    elif path.startswith("/"):  # the 404 page links from the site's root
        target = (site / path.lstrip("/")).resolve()
    else:
        target = (page.parent / path).resolve()
    if target.is_dir() or path.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


def _broken_links(site: Path) -> list[str]:
    pages = _pages(site)
    broken = []
    for page, parsed in pages.items():
        for href in parsed.links:
            found = _target(site, page, href)
            if found is None:
                continue
            target, anchor = found
            where = f"{page.relative_to(site)} -> {href}"
            if not target.exists():
                broken.append(f"{where}: no such page")
            elif anchor and target in pages and anchor not in pages[target].ids:
                broken.append(f"{where}: no such anchor")
    return broken


def test_internal_links_and_anchors_resolve(built: Built) -> None:
    """Every internal link of the built site reaches a page, and its anchor an id there."""
    assert [] == _broken_links(built.site)


def test_link_check_finds_a_missing_page_and_a_missing_anchor(tmp_path: Path) -> None:
    """The checker itself: a link to no page and one to no anchor are both reported;
    external links, good pages and good anchors are not."""
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="a/">ok</a><a href="a/#here">ok</a><a href="https://example.org/x">ext</a>'
        '<a href="b/">gone</a><a href="a/#nowhere">no anchor</a>',
        encoding="utf-8",
    )
    (tmp_path / "a" / "index.html").write_text('<h2 id="here">Here</h2>', encoding="utf-8")
    assert ["index.html -> b/: no such page", "index.html -> a/#nowhere: no such anchor"] == (
        _broken_links(tmp_path)
    )


def test_pages_load_nothing_from_another_host(built: Built) -> None:
    """No script, style sheet, font or image of the site comes from elsewhere."""
    external = sorted(
        {
            asset
            for parsed in _pages(built.site).values()
            for asset in parsed.assets
            if urlsplit(asset).scheme in ("http", "https") or asset.startswith("//")
        }
    )
    assert [] == external


def test_every_docs_page_is_in_the_site(built: Built) -> None:
    """Each page under docs/ is built, listed in the navigation or not."""
    docs = ROOT / "docs"
    missing = [
        str(page.relative_to(docs))
        for page in sorted(docs.rglob("*.md"))
        if not (built.site / page.relative_to(docs).with_suffix("") / "index.html").exists()
        and page.name != "index.md"
    ]
    assert [] == missing


def _text(html: Path) -> str:
    return re.sub(r"<[^>]+>", " ", html.read_text(encoding="utf-8"))


def test_cli_reference_names_every_verb_and_option(built: Built) -> None:
    """The CLI page lists every verb and option of the parser the command runs."""
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    wanted = [f"maintguard {name}" for name in verbs.choices]
    for sub in verbs.choices.values():
        wanted += [option for action in sub._actions for option in action.option_strings]
    text = _text(built.site / "cli" / "index.html")
    assert [] == [item for item in wanted if item not in text]


@pytest.mark.parametrize(
    ("page", "needle"),
    [
        ("frameworks/flask", "init_app(app, service)"),
        ("frameworks/starlette", "admin_dependency"),
        ("frameworks/django", "MAINTGUARD_SERVICE"),
        ("changelog", "Unreleased"),
        ("contributing", "python3 dev.py test"),
    ],
)
def test_included_sections_are_on_their_pages(built: Built, page: str, needle: str) -> None:
    """Pages made of included sections (the integrations, the changelog) carry them."""
    assert needle in _text(built.site / page / "index.html")


def test_api_reference_documents_the_service(built: Built) -> None:
    """The API page holds the docstring-generated entries of the public classes."""
    page = _pages(built.site)[built.site / "api" / "index.html"]
    wanted = {"maintguard.MaintenanceService", "maintguard.Settings", "maintguard.wsgi"}
    assert set() == wanted - page.ids


# -------------------------------------------------- configuration.md vs Settings

_ROW = re.compile(
    r"^\|\s*`(?P<variable>[A-Z][A-Z0-9_]+)`\s*\|\s*`(?P<field>\w+)`\s*\|(?P<default>[^|]*)\|"
)


def _documented() -> dict[str, tuple[str, str]]:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            default = match["default"].strip().strip("`") or "—"
            rows[match["variable"]] = (match["field"], default)
    return rows


def test_configuration_table_lists_every_setting_as_the_code_defines_it() -> None:
    """docs/configuration.md has one row per Settings field, with its variable,
    field name and default as Settings has them — and no row Settings lacks."""
    expected = {variable: (name, default) for variable, name, default, _ in hooks.settings_rows()}
    assert expected == _documented()
