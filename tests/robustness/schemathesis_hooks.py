"""How schemathesis writes the bodies it generates for intake's uploads of labelled examples:
JSON Lines and CSV (formats it does not write by itself). Whatever it generated is written, so
hostile rows reach the door; only what a format cannot express is turned into text."""

import csv
import io
import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/jsonl")
def json_lines(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    rows = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(row) for row in rows).encode("utf-8", "surrogatepass")


@schemathesis.serializer("text/csv")
def comma_separated(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    rows = value if isinstance(value, list) else [value]
    columns = sorted({str(key) for row in rows if isinstance(row, dict) for key in row}) or ["text"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        fields = row if isinstance(row, dict) else {"text": row}
        writer.writerow(["" if fields.get(c) is None else str(fields.get(c)) for c in columns])
    return out.getvalue().encode("utf-8", "surrogatepass")
