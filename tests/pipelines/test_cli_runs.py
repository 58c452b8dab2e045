"""`techwatch ingest` and `techwatch demo` through the CLI, under a real Prefect API."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from techwatch.cli import main
from techwatch.demo.server import Site, serve

pytestmark = pytest.mark.usefixtures("prefect_api")

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>https://example.org/</link>
<item><title>Exchange Server: correctif urgent</title><link>https://example.org/a</link>
<guid>a</guid><description>Une vuln\xc3\xa9rabilit\xc3\xa9 critique.</description></item>
</channel></rss>"""


@pytest.fixture(autouse=True)
def _prefect_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI sets Prefect's variables with setdefault; keep them from leaking between tests."""
    for name in (
        "PREFECT_HOME",
        "PREFECT_LOGGING_LEVEL",
        "PREFECT_SERVER_LOGGING_LEVEL",
        "PREFECT_SERVER_ANALYTICS_ENABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))


def _local_sources(tmp_path: Path, base: str, more: str = "") -> Path:
    """A sources.yml with the served feed as source `local`, then `more` entries."""
    sources = tmp_path / "sources.yml"
    sources.write_text(
        "settings:\n  allow_private_networks: true\nsources:\n"
        f"  - {{id: local, name: Local, kind: feed, url: '{base}/ok.rss', category: press}}\n"
        + more
    )
    return sources


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ingest_records_unreachable_sources_and_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = Site(documents={"/ok.rss": FEED})
    with serve(site) as base:
        offline = f"http://127.0.0.1:{_closed_port()}/feed"
        sources = _local_sources(
            tmp_path,
            base,
            f"  - {{id: offline, name: Offline, kind: feed, url: '{offline}', category: press}}\n",
        )
        code = main(["ingest", "--home", str(tmp_path), "--sources", str(sources), "--json"])
    captured = capsys.readouterr()
    assert code == 0
    report = json.loads(captured.out)  # stdout holds the JSON report and nothing else
    lines = {line["source_id"]: line for line in report["sources"]}
    assert lines["local"]["status"] == "ok" and lines["local"]["new"] == 1
    assert lines["offline"]["status"] == "failed"
    assert lines["offline"]["error_kind"] == "connection"
    assert (tmp_path / "var" / "techwatch.duckdb").is_file()


def test_ingest_starts_the_parse_workers_before_prefects_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The workers' forkserver loads the parsers and the language model while the API
    starts: started after it, the flow's first parse would wait for that load."""
    import pipelines.local
    import techwatch.parse.pool

    order: list[str] = []
    start_forkserver = techwatch.parse.pool.start_forkserver
    one_shot = pipelines.local.one_shot

    def starting_forkserver(**kwargs: bool) -> None:
        order.append("forkserver")
        start_forkserver(**kwargs)

    def starting_api():  # type: ignore[no-untyped-def]
        order.append("api")
        return one_shot()

    monkeypatch.setattr(techwatch.parse.pool, "start_forkserver", starting_forkserver)
    monkeypatch.setattr(pipelines.local, "one_shot", starting_api)
    site = Site(documents={"/ok.rss": FEED})
    with serve(site) as base:
        sources = _local_sources(tmp_path, base)
        code = main(["ingest", "--home", str(tmp_path), "--sources", str(sources), "--json"])
    assert code == 0, capsys.readouterr().err
    assert order[:2] == ["forkserver", "api"]


def test_ingest_with_a_broken_sources_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = tmp_path / "sources.yml"
    sources.write_text(
        "sources:\n  - id: x\n    name: X\n    kind: feed\n    url: file:///etc/passwd\n"
        "    category: press\n"
    )
    code = main(["ingest", "--home", str(tmp_path), "--sources", str(sources), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "url" in captured.err and "sources.yml" in captured.err


def test_demo_twice_finds_nothing_new_the_second_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tiny_current_model(tmp_path / "var" / "models")  # the demo would train the default one
    assert main(["demo", "--home", str(tmp_path), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["demo", "--home", str(tmp_path), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    ingested, again = first["ingest"], second["ingest"]
    assert ingested["new_items"] > 0
    assert ingested["classification"]["classified"] == ingested["new_items"]
    assert ingested["scoring"]["decisions"] > 0
    assert again["new_items"] == 0
    assert again["status_counts"]["not_modified"] == ingested["status_counts"]["ok"]

    demo_clients = {p.stem for p in (tmp_path / "var" / "demo" / "clients").glob("*.yml")}
    built = {b["client_id"]: b for b in first["briefings"]["briefings"]}
    assert set(built) == demo_clients
    for briefing in built.values():
        assert all(Path(f).is_file() for f in briefing["files"])
    outbox = tmp_path / "var" / "outbox"
    assert len(list(outbox.glob("*.eml"))) == len(demo_clients)
    assert second["briefings"]["mail"]["queued"] == [], "nothing mailed twice"
    assert len(list(outbox.glob("*.eml"))) == len(demo_clients)


def _tiny_current_model(models: Path) -> None:
    from techwatch.classify.artefact import mark_current, save
    from techwatch.classify.corpus import read_examples
    from techwatch.classify.model import train
    from tests.classify.conftest import TEST_BITS, tiny_records, write_jsonl

    models.parent.mkdir(parents=True, exist_ok=True)
    corpus = write_jsonl(models.parent / "tiny.jsonl", tiny_records())
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    model = train(read_examples([corpus]), now=now, seed=0, sources=[str(corpus)], bits=TEST_BITS)
    save(model, models / "20261128T030000Z")
    mark_current(models, "20261128T030000Z")
