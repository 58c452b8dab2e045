"""The CLI imports the module of the command it runs only (techwatch/cli/__init__.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from techwatch.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]

#: The command line's surface: a command missing from the registry would vanish from it.
EXPECTED = {
    "classify", "ingest", "demo", "briefing", "portfolio", "exposure", "search", "score",
    "import", "report", "serve", "sources", "items", "cves", "stories", "db", "runs", "model",
    "clients", "mail", "triage",
}  # fmt: skip

#: What a store query must not load: scoring and briefings, client profiles, the mail sender,
#: the flows, the classifier.
HEAVY = (
    "techwatch.watch",
    "techwatch.clients.config",
    "techwatch.mail.send",
    "techwatch.enrich.refresh",
    "techwatch.importer",
    "pipelines",
    "prefect",
    "sklearn",
    "jinja2",
)


def test_every_command_is_listed_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(COMMANDS) == EXPECTED
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f" {name} " in out, name
    assert "Did you mean" not in out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_command_alone_still_parses_as_a_subcommand(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([name, "--help"]) == 0
    assert f"Usage: techwatch {name} " in " ".join(capsys.readouterr().out.split())


def test_a_mistyped_command_is_told_the_nearest_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["storys", "list"]) == 2
    assert "Did you mean 'stories'" in capsys.readouterr().err


QUERIES = (
    ("items", "list"),
    ("stories", "list"),
    ("cves", "list", "--kev"),
    ("runs", "list"),
    ("db", "info"),
    ("mail", "outbox"),
    ("search", "ransomware"),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    assert main(["db", "migrate", "--home", str(home)]) == 0
    return home


@pytest.mark.parametrize("command", QUERIES, ids=" ".join)
def test_a_store_query_loads_none_of_the_other_commands_code(
    command: tuple[str, ...], store: Path
) -> None:
    script = (
        "import json, sys\n"
        "from techwatch.cli import main\n"
        f"code = main({[*command, '--home', str(store), '--json']!r})\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0, done.stderr
    assert [m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY] == []
