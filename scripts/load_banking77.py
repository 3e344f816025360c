"""Loads BANKING77's train split into a running intake as a bank tenant's labelled history.

BANKING77: 10,003 real online-banking customer messages, 77 intents; Casanueva et al. 2020,
"Efficient Intent Detection with Dual Sentence Encoders", CC BY 4.0. Each message goes in with its
intent and the concern `scripts/data/banking77_concerns.json` maps that intent to, through the same
door a tenant uses: `POST /v1/training-examples`. With `--wait`, it then waits for intake's
background training to read them and prints the version it made and how it did (`GET /v1/models`).

    python scripts/load_banking77.py DIR --url http://127.0.0.1:8001 --key <the bank's admin key> [--wait]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from banking77 import ATTRIBUTION, concern_of, messages
from rich.console import Console


def rows(directory: Path) -> list[dict[str, str]]:
    concerns = concern_of()
    return [
        {"text": text, "intent": intent, "concern": concerns[intent], "language": "en"}
        for text, intent in messages(directory)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path, help="BANKING77's directory, holding train.csv")
    parser.add_argument("--url", default="http://127.0.0.1:8001", help="intake's base URL")
    parser.add_argument("--key", default=os.environ.get("FRONTLINE_API_KEY"), help="the tenant's admin API key")
    parser.add_argument("--wait", action="store_true", help="wait for the training on them and show its result")
    parser.add_argument("--within", type=float, default=900, help="seconds to wait at most")
    args = parser.parse_args()
    if not args.key:
        sys.exit("load_banking77: give the bank tenant's admin key (--key or FRONTLINE_API_KEY)")
    console = Console()
    examples = rows(args.directory)
    body = "\n".join(json.dumps(row, ensure_ascii=False) for row in examples).encode()
    console.print(f"{ATTRIBUTION}: {len(examples):,} examples, {len(body) / 1e6:.1f} MB")
    started = time.perf_counter()
    with console.status(f"POST {args.url}/v1/training-examples"):
        answer = httpx.post(
            f"{args.url}/v1/training-examples",
            content=body,
            headers={"Authorization": f"Bearer {args.key}", "Content-Type": "application/jsonl"},
            timeout=300,
        )
    if answer.status_code != 201:
        sys.exit(f"load_banking77: intake answered {answer.status_code}: {answer.text[:2000]}")
    stored = answer.json()
    console.print(
        f"stored as version {stored['version']}: {stored['examples']:,} examples, {stored['intents']} intents, "
        f"{stored['concerns']} concerns, {stored['redacted']} redacted, in {time.perf_counter() - started:.1f} s"
    )
    if args.wait:
        with console.status("waiting for intake's background training"):
            trained = wait_for_training(args.url, args.key, stored["stored_at"], args.within)
        console.print_json(data=trained)


def instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def wait_for_training(url: str, key: str, since: str, within: float) -> dict[str, object]:
    """The last training once one that started after `since` has ended, and the version it made."""
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        models = httpx.get(f"{url}/v1/models", headers=headers, timeout=30).json()
        last = models.get("last_training") or {}
        if not models["training_pending"] and "at" in last and instant(last["at"]) >= instant(since):
            version = last.get("version")
            found = httpx.get(f"{url}/v1/models/{version}", headers=headers, timeout=30).json() if version else {}
            evaluation = found.get("concern_evaluation", {})
            return {
                "training": last,
                "live": models["live"],
                "intent_accuracy": found.get("evaluation", {}).get("accuracy"),
                "concern_macro_f1": evaluation.get("macro_f1"),
                "keywords_concern_macro_f1": found.get("keywords_concern_macro_f1"),
                "seconds": found.get("seconds"),
                "most_confused": found.get("evaluation", {}).get("confusions", [])[:5],
            }
        time.sleep(2)
    sys.exit(f"load_banking77: no training ended within {within:.0f} s")


if __name__ == "__main__":
    main()
