"""mkdocs hooks: pages generated from the code, and pages nobody listed.

- ``<!-- generated: cli-reference -->`` in a page becomes the reference of
  every ``maintguard`` verb and option, read from the argparse parser
  (``maintguard.control.cli.build_parser``), so it cannot drift from the CLI.
- ``<!-- include-root: CHANGELOG.md -->`` becomes that file of the
  repository's top, its links made the site's; a page's link to such a file
  (``../CHANGELOG.md``, right on GitHub) goes to its page on the site.
- A page under docs/ that ``nav`` does not name (a new page of another
  change) is appended under "More" instead of being left out of the site.
- The includes' base paths are resolved from mkdocs.yml's folder, so the site
  builds from any working directory.

``settings_rows()`` reads every ``Settings`` field; tests/test_site.py checks
the table of docs/configuration.md against it.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

CLI_MARKER = "<!-- generated: cli-reference -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices:
        return " \\| ".join(f"`{choice}`" for choice in action.choices)
    metavar = action.metavar or action.dest.upper()
    return f"`{metavar}`"


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, False) or action.required:
        return "—" if not action.required else "required"
    return f"`{action.default}`"


def _arguments_table(parser: argparse.ArgumentParser, skip: set[str]) -> list[str]:
    rows = ["| argument | value | default | meaning |", "|---|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.dest in skip:
            continue
        if action.option_strings:
            name = ", ".join(f"`{option}`" for option in action.option_strings)
            value, default = _value(action), _default(action)
        else:  # a positional argument: its name is its value
            name, value, default = f"`{action.metavar or action.dest.upper()}`", "", "required"
        rows.append(f"| {name} | {value} | {default} | {_cell(action.help or '')} |")
    return rows if len(rows) > 2 else []


def cli_reference() -> str:
    """Markdown for every verb and option of the ``maintguard`` command."""
    from maintguard.control.cli.parser import build_parser

    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    common = {"store", "app", "json", "actor"}
    lines = [
        f"`{parser.prog} VERB [options]` — {parser.description}",
        "",
        "Options every verb takes (before or after the verb):",
        "",
        *[row for row in _arguments_table(parser, set()) if "--version" not in row],
        "",
        "`maintguard --version` prints the installed version. Exit status: 0 on",
        "success; otherwise non-zero with one line on stderr.",
        "",
    ]
    helps = {choice.dest: choice.help for choice in verbs._choices_actions}
    for name, sub in verbs.choices.items():
        lines += [f"## `maintguard {name}`", "", f"{_cell(helps.get(name) or '')}.", ""]
        table = _arguments_table(sub, common)
        lines += [*table, ""] if table else ["No options of its own.", ""]
    return "\n".join(lines)


def _default_text(value: Any) -> str:
    if value is None or value == "" or value == ():
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def settings_rows() -> list[tuple[str, str, str, str]]:
    """(variable, field, default, meaning) of every ``Settings`` field, in order."""
    import attrs

    from maintguard.config import Settings

    return [
        (field.metadata["env"], field.name, _default_text(field.default), field.metadata["meaning"])
        for field in attrs.fields(Settings)
    ]


# --------------------------------------------------------------- mkdocs hooks


def _listed(nav: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(nav, str):
        found.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            found |= _listed(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            found |= _listed(value)
    return found


def _title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem.replace("-", " ").capitalize()


def on_config(config: Any) -> Any:
    """Resolve the includes' base paths from mkdocs.yml's folder (so the site
    builds from any working directory); append the pages ``nav`` does not
    name under "More"."""
    top = Path(config["config_file_path"]).resolve().parent
    snippets = config["mdx_configs"].get("pymdownx.snippets", {})
    snippets["base_path"] = [str(top / base) for base in snippets.get("base_path", ["."])]
    nav = config.get("nav")
    if not nav:
        return config
    docs = Path(config["docs_dir"])
    listed = _listed(nav)
    hidden = config.get("not_in_nav")
    extra = []
    for page in sorted(docs.rglob("*.md")):
        rel = page.relative_to(docs).as_posix()
        if rel in listed or (hidden is not None and hidden.match_file(rel)):
            continue
        extra.append({_title(page): rel})
    if extra:
        nav.append({"More": extra})
    return config


#: Files at the top of the repository that the site carries as pages: a
#: page's link to one (right on GitHub) goes to its page on the site.
ROOT_PAGES = {
    "README.md": "index.md",
    "CHANGELOG.md": "changelog.md",
    "CONTRIBUTING.md": "contributing.md",
}
_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?P<anchor>#[^)\s]*)?\)")


def _root_links(markdown: str, page_path: str) -> str:
    depth = page_path.count("/")
    up = "../" * (depth + 1)

    def replace(match: re.Match[str]) -> str:
        target = match["target"]
        if target.startswith(up) and target[len(up) :] in ROOT_PAGES:
            page = "../" * depth + ROOT_PAGES[target[len(up) :]]
            return f"]({page}{match['anchor'] or ''})"
        return match[0]

    return _LINK.sub(replace, markdown)


_INCLUDE = re.compile(r"^<!-- include-root: (?P<name>[\w.-]+) -->$", re.MULTILINE)


def _include_root(match: re.Match[str]) -> str:
    # The file's links are relative to the repository's top: make them the site's.
    text = (Path(__file__).resolve().parent.parent / match["name"]).read_text(encoding="utf-8")
    text = re.sub(r"\]\(docs/", "](", text)
    return re.sub(
        r"\]\((?P<name>[\w.-]+\.md)(?P<anchor>#[^)\s]*)?\)",
        lambda m: f"]({ROOT_PAGES.get(m['name'], m['name'])}{m['anchor'] or ''})",
        text,
    )


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Fill the markers; point links to repository files at their pages."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    markdown = _INCLUDE.sub(_include_root, markdown)
    return _root_links(markdown, page.file.src_uri)
