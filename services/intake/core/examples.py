"""Labelled history a tenant uploads: JSON Lines or CSV, read and validated whole before any is kept."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from frontline.contracts.contacts import Label
from services.intake.core.redaction import redact

MAX_ROWS = 100_000
MAX_TEXT = 5_000
PROBLEMS_SHOWN = 20
JSON_LINES = ("application/jsonl", "application/x-ndjson", "application/x-jsonlines")
CSV = "text/csv"

Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class ExampleIn(BaseModel):
    """One labelled message: its text and what it was about (an intent, a concern, or both)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    intent: Label | None = None
    concern: Label | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _labelled(self) -> Self:
        if not self.text.strip():
            raise ValueError("text is blank")
        if self.intent is None and self.concern is None:
            raise ValueError("an example needs an intent or a concern")
        return self


class InvalidExamples(ValueError):
    """The upload as a whole is refused; `problems` name the rows at fault (the first few)."""

    def __init__(self, problems: list[str], total: int | None = None) -> None:
        self.problems = problems[:PROBLEMS_SHOWN]
        total = len(problems) if total is None else total
        more = f" (and {total - len(self.problems)} more)" if total > len(self.problems) else ""
        super().__init__("; ".join(self.problems) + more)


def parse_examples(body: bytes, content_type: str) -> list[ExampleIn]:
    """Every example of an upload, or `InvalidExamples` naming what is wrong; nothing half-read."""
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidExamples([f"the body is not UTF-8 (byte {error.start})"]) from None
    if kind in JSON_LINES:
        rows = _json_lines(text)
    elif kind == CSV:
        rows = _csv_rows(text)
    else:
        raise InvalidExamples([f"send JSON Lines ({JSON_LINES[0]}) or CSV ({CSV}), not {kind or 'no content type'}"])
    if not rows:
        raise InvalidExamples(["the upload holds no examples"])
    if len(rows) > MAX_ROWS:
        raise InvalidExamples([f"{len(rows):,} examples; at most {MAX_ROWS:,} at once"])
    examples, problems = [], []
    for line, row in rows:
        try:
            examples.append(ExampleIn.model_validate(row))
        except ValidationError as error:
            problems += [
                f"row {line}: {_field(e['loc'])}{e['msg'].removeprefix('Value error, ')}"
                for e in error.errors(include_url=False)
            ]
    if problems:
        raise InvalidExamples(problems)
    return examples


def _json_lines(text: str) -> list[tuple[int, object]]:
    rows, problems = [], []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rows.append((line, json.loads(raw)))
        except (ValueError, RecursionError) as error:
            problems.append(f"row {line}: not a JSON object ({str(error)[:80]})")
        if len(rows) > MAX_ROWS:
            break
    if problems:
        raise InvalidExamples(problems)
    return rows


def _csv_rows(text: str) -> list[tuple[int, object]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return []
    fields = [name.strip() for name in header]
    unknown = sorted(set(fields) - set(ExampleIn.model_fields))
    if unknown or len(set(fields)) < len(fields):
        expected = ", ".join(ExampleIn.model_fields)
        raise InvalidExamples([f"the CSV header must name each of its columns once from {expected}; got {header}"])
    rows: list[tuple[int, object]] = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(fields):
                raise InvalidExamples([f"row {reader.line_num}: {len(values)} values for {len(fields)} columns"])
            rows.append((reader.line_num, {f: v for f, v in zip(fields, values, strict=True) if v != ""}))
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as error:
        raise InvalidExamples([f"row {reader.line_num}: {error}"]) from None
    return rows


def _field(location: tuple[int | str, ...]) -> str:
    return f"{'.'.join(str(part) for part in location)}: " if location else ""


def redacted(examples: list[ExampleIn], *, region: str) -> tuple[list[ExampleIn], int]:
    """The examples as they are kept: cards, IBANs, e-mail addresses and phone numbers masked, as
    in every contact; and how many examples had something masked."""
    kept, masked = [], 0
    for example in examples:
        text = redact(example.text, region=region)
        masked += bool(text.kinds)
        kept.append(example.model_copy(update={"text": text.text}) if text.kinds else example)
    return kept, masked
