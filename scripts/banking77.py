"""BANKING77 as the scripts read it: its train split, 10,003 real online-banking customer messages
labelled with 77 intents (Casanueva et al. 2020, "Efficient Intent Detection with Dual Sentence
Encoders", CC BY 4.0), and the concern a bank's departments would give each intent
(`data/banking77_concerns.json`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

ATTRIBUTION = "BANKING77 (Casanueva et al. 2020, CC BY 4.0)"
CONCERNS = Path(__file__).resolve().parent / "data" / "banking77_concerns.json"


def messages(directory: Path) -> list[tuple[str, str]]:
    """(text, intent) of every message of the train split, in its order."""
    with (directory / "train.csv").open(newline="") as rows:
        return [(row["text"], row["category"]) for row in csv.DictReader(rows)]


def concern_of() -> dict[str, str]:
    """Each intent's concern."""
    mapping = json.loads(CONCERNS.read_text())
    return {
        intent: concern for concern, intents in mapping.items() if not concern.startswith("_") for intent in intents
    }
