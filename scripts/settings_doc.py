"""docs/configuration.md, generated from the settings classes (as docs/events/ is from the event
models): every environment variable, its default and its meaning, from the field's description.

    python scripts/settings_doc.py          # write docs/configuration.md
    python scripts/settings_doc.py --check  # fail if it differs, or a setting has no description
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frontline.plumbing.settings import Settings  # noqa: E402
from services.intake.settings import IntakeSettings  # noqa: E402
from services.records.settings import RecordsSettings  # noqa: E402
from services.routing.settings import RoutingSettings  # noqa: E402
from services.upsell.settings import UpsellSettings  # noqa: E402

TARGET = ROOT / "docs" / "configuration.md"
CLASSES: list[tuple[str, type[BaseSettings]]] = [
    ("Every service", Settings),
    ("intake", IntakeSettings),
    ("routing", RoutingSettings),
    ("upsell", UpsellSettings),
    ("records", RecordsSettings),
]
HEAD = """# Configuration

[← README](../README.md)

Environment variables, read once per process. Generated from the settings classes by
`python scripts/settings_doc.py` (`make lint` fails when this page and the classes disagree); the
class beside each heading is where a setting is defined and checked.
"""
TAIL = """
Outside production the well-known API keys `dev-<tenant>-<role>` exist for the tenants `acme` and
`globex` (`curl -H 'Authorization: Bearer dev-acme-admin' http://127.0.0.1:8004/v1/whoami`), and Kafka
messages may be signed with the development event keys `dev-tenant:<tenant>` and
`dev-service:<service>` (secret: the hex HMAC-SHA256 of the key id under the seed in
`frontline/plumbing/signing.py`); production accepts only configured keys.

The local servers' ports: `LOCAL_KAFKA_PORT` (9092) and `LOCAL_MONGODB_PORT` (27017), read by
`deploy/local/infra.py`.
"""


def variable(prefix: str, name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return " / ".join(f"`{choice}`" for choice in alias.choices)
    return f"`{prefix}{name.upper()}`"


def default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is PydanticUndefined or value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def render() -> tuple[str, list[str]]:
    parts, undocumented = [HEAD], []
    for heading, cls in CLASSES:
        prefix = cls.model_config.get("env_prefix", "")
        parts.append(
            f"\n## {heading} (`{cls.__module__}.{cls.__name__}`)\n\n| variable | default | meaning |\n|---|---|---|"
        )
        for name, field in cls.model_fields.items():
            if not field.description:
                undocumented.append(f"{cls.__name__}.{name}")
            meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
            parts.append(f"| {variable(prefix, name, field)} | {default(field)} | {meaning} |")
    return "\n".join(parts) + "\n" + TAIL, undocumented


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text, undocumented = render()
    if undocumented:
        print(f"settings without a description: {', '.join(undocumented)}", file=sys.stderr)
        return 1
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python scripts/settings_doc.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
