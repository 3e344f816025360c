"""Generate the published contract from the registry: JSON Schema per event type and AsyncAPI 3.0.

    python -m frontline.contracts.schemas           # write docs/events/
    python -m frontline.contracts.schemas --check   # fail if docs/events/ is stale

Within one version an event may only grow: the writer refuses a breaking change
(a field removed, retyped or newly required) unless the event's version is raised.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from frontline.contracts.compatibility import breaking_changes
from frontline.contracts.registry import REGISTRY, EventSpec
from frontline.contracts.topics import TOPICS, dlq_topic

OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "events"
Document = dict[str, Any]


def schema_file(spec: EventSpec) -> str:
    return f"{spec.type}.v{spec.version}.schema.json"


def event_schema(spec: EventSpec) -> Document:
    schema = spec.model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://frontline.dev/events/{schema_file(spec)}",
        **schema,
    }


def asyncapi() -> Document:
    channels: Document = {}
    operations: Document = {}
    messages: Document = {}
    schemas: Document = {}
    for spec in REGISTRY.values():
        name = spec.model.__name__
        payload = spec.model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(payload.pop("$defs", {}))
        schemas[name] = payload
        messages[name] = {
            "name": spec.type,
            "title": name,
            "summary": (spec.model.__doc__ or "").strip(),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": spec.key_description}}},
        }
        channel = channels.setdefault(
            spec.topic.name,
            {
                "address": spec.topic.value,
                "description": TOPICS[spec.topic].summary,
                "messages": {},
            },
        )
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{spec.topic.name}"},
            "messages": [{"$ref": f"#/channels/{spec.topic.name}/messages/{name}"}],
        }
    for topic, topic_spec in TOPICS.items():
        channels.setdefault(topic.name, {"address": topic.value, "description": topic_spec.summary, "messages": {}})
        if topic_spec.internal:
            continue
        channels[f"{topic.name}_DLQ"] = {
            "address": dlq_topic(topic.value),
            "description": f"Messages of {topic.value} that could not be processed, with the reason.",
            "messages": {},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Frontline events",
            "version": "1.0.0",
            "description": "Every Frontline event: one JSON envelope, one model per type.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The broker `make infra-up` starts.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def rendered() -> dict[str, str]:
    """File name → content, exactly as committed under docs/events/."""
    files = {schema_file(spec): dump(event_schema(spec)) for spec in REGISTRY.values()}
    files["asyncapi.json"] = dump(asyncapi())
    return files


def dump(document: Document) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale_files(output: Path = OUTPUT) -> list[str]:
    expected = rendered()
    present = {path.name for path in output.glob("*.json")}
    differing = [
        name for name, text in expected.items() if not (output / name).exists() or (output / name).read_text() != text
    ]
    return sorted(differing + sorted(present - expected.keys()))


def incompatible(output: Path = OUTPUT) -> list[str]:
    problems = []
    for spec in REGISTRY.values():
        committed = output / schema_file(spec)
        if committed.exists():
            old = json.loads(committed.read_text())
            problems += [f"{spec.type} v{spec.version}: {p}" for p in breaking_changes(old, event_schema(spec))]
    return problems


def write(output: Path = OUTPUT) -> None:
    output.mkdir(parents=True, exist_ok=True)
    expected = rendered()
    for stale in output.glob("*.json"):
        if stale.name not in expected:
            stale.unlink()
    for name, text in expected.items():
        (output / name).write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description="Generate docs/events/ from the event registry.")
    parser.add_argument("--check", action="store_true", help="fail if docs/events/ is out of date")
    args = parser.parse_args()
    if problems := incompatible():
        print(
            "breaking changes within a version; raise the event's version instead:",
            *problems,
            sep="\n  ",
            file=sys.stderr,
        )
        return 1
    if args.check:
        if stale := stale_files():
            print("docs/events/ is out of date; run `make schemas`:", *stale, sep="\n  ", file=sys.stderr)
            return 1
        return 0
    write()
    print(f"wrote {len(rendered())} files to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
