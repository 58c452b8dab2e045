"""A tiny labelled corpus in three languages and a model trained on it once per session.

Small enough to train in a few seconds, varied enough that each axis has several learnable
labels (5+ examples each). The real seed corpus is only validated here, never trained on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.classify import Model, read_examples, train
from techwatch.classify.artefact import mark_current, save

# Small hashed spaces: the tiny corpus needs few features, and fit time grows with the space.
TEST_BITS = 12

PRODUCTS = ("FortiOS", "Exchange Server", "WordPress", "Citrix NetScaler", "Cisco IOS XE", "Ivanti")
BANKS = ("UBS", "PostFinance", "Raiffeisen", "BCV", "Migros Bank", "Credit Agricole")
SERVICES = ("Microsoft 365", "Google Workspace", "Infomaniak", "Swisscom", "AWS", "Azure")
SPORTS = ("FC Basel", "Servette", "YB", "Lausanne-Sport", "FC Zurich", "Lugano")
APPS = ("Firefox", "LibreOffice", "Thunderbird", "Nextcloud", "GIMP", "VLC")


def _vulnerability(i: int) -> dict[str, Any]:
    product = PRODUCTS[i % len(PRODUCTS)]
    texts = (
        f"A critical flaw in {product} allows remote code execution; patch now (CVSS 9.8).",
        f"Une vulnérabilité dans {product} permet l'exécution de code à distance, mise à jour.",
        f"Kritische Schwachstelle in {product} erlaubt Codeausführung, Update verfügbar.",
    )
    return {
        "title": f"Security flaw in {product} ({i})",
        "text": texts[i % 3],
        "topics": ["vulnerability"],
        "sectors": ["all"],
        "severity": "critical" if i % 2 else "high",
    }


def _phishing(i: int) -> dict[str, Any]:
    bank = BANKS[i % len(BANKS)]
    texts = (
        f"Fake {bank} e-mails ask customers to confirm their e-banking login.",
        f"Des courriels frauduleux au nom de {bank} demandent les codes e-banking.",
        f"Gefälschte {bank}-Mails fordern Kunden zur Eingabe der E-Banking-Daten auf.",
    )
    return {
        "title": f"Phishing wave targets {bank} customers",
        "text": texts[i % 3],
        "topics": ["phishing_fraud"],
        "sectors": ["finance"],
        "severity": "medium",
    }


def _outage(i: int) -> dict[str, Any]:
    service = SERVICES[i % len(SERVICES)]
    texts = (
        f"{service} users cannot sign in; the provider reports degraded service for hours.",
        f"Panne de {service}: la messagerie est indisponible depuis ce matin.",
        f"Störung bei {service}: Anmeldung und E-Mail sind seit Stunden nicht erreichbar.",
    )
    return {
        "title": f"{service} outage",
        "text": texts[i % 3],
        "topics": ["outage"],
        "sectors": ["all"],
        "severity": "medium" if i % 2 else "high",
    }


def _off_topic(i: int) -> dict[str, Any]:
    team = SPORTS[i % len(SPORTS)]
    texts = (
        f"{team} won the derby two to one after a late goal in the stadium.",
        f"Le {team} s'impose en championnat grâce à un but en fin de match.",
        f"{team} gewinnt das Derby nach einem späten Tor im Stadion.",
    )
    return {
        "title": f"{team} wins the derby",
        "text": texts[i % 3],
        "topics": ["off_topic"],
        "sectors": [],
        "severity": "info",
    }


def _product_update(i: int) -> dict[str, Any]:
    app = APPS[i % len(APPS)]
    texts = (
        f"{app} release brings a new interface, themes and faster start-up.",
        f"La nouvelle version de {app} apporte une interface revue et des thèmes.",
        f"Die neue Version von {app} bringt eine überarbeitete Oberfläche und Themes.",
    )
    return {
        "title": f"{app} new release with new features",
        "text": texts[i % 3],
        "topics": ["product_update"],
        "sectors": ["it_services"],
        "severity": "info",
    }


def tiny_records(per_kind: int = 10) -> list[dict[str, Any]]:
    """Labelled lines, kinds interleaved, languages rotating."""
    makers = (_vulnerability, _phishing, _outage, _off_topic, _product_update)
    records = []
    for i in range(per_kind):
        for maker in makers:
            record = maker(i)
            n = len(records)
            record = {"id": f"t-{n:03d}", "language": ("en", "fr", "de")[i % 3], **record}
            records.append(record)
    return records


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


@pytest.fixture(scope="session")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "tiny.jsonl", tiny_records())


@pytest.fixture(scope="session")
def tiny_model(tiny_file: Path) -> Model:
    """Trained once: held-out evaluation, thresholds and final fit, as in production."""
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    return train(
        read_examples([tiny_file]), now=now, seed=0, sources=[str(tiny_file)], bits=TEST_BITS
    )


@pytest.fixture
def home_with_model(tmp_path: Path, tiny_model: Model) -> Path:
    """A home whose var/models holds the tiny model, marked current."""
    models = tmp_path / "var" / "models"
    save(tiny_model, models / "20261128T030000Z")
    mark_current(models, "20261128T030000Z")
    return tmp_path
