"""An upload of labelled examples is read whole or refused whole, with the rows at fault named."""

import json

import pytest

from services.intake.core.examples import MAX_ROWS, ExampleIn, InvalidExamples, parse_examples

JSONL = "application/jsonl"


def jsonl(*rows: object) -> bytes:
    return "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode()


def test_json_lines_with_intents_concerns_and_languages_in_any_script() -> None:
    body = jsonl(
        {"text": "I am still waiting on my card?", "intent": "card_arrival"},
        {"text": "Palauttakaa rahani", "concern": "returns_refunds", "language": "fi"},
        {"text": "返金してください", "intent": "返金", "concern": "returns_refunds", "language": "ja"},
        {"text": "Why was I charged?", "intent": "reverted_card_payment?"},
    )
    examples = parse_examples(b"\xef\xbb\xbf" + body + b"\n\n", "application/x-ndjson; charset=utf-8")
    assert [e.intent for e in examples] == ["card_arrival", None, "返金", "reverted_card_payment?"]
    assert examples[1] == ExampleIn(text="Palauttakaa rahani", concern="returns_refunds", language="fi")


def test_csv_with_a_header_quotes_and_crlf() -> None:
    body = 'text,intent\r\n"Card, still not here",card_arrival\r\nWhere is my refund?,Refund_not_showing_up\r\n'
    examples = parse_examples(body.encode(), "text/csv")
    assert [(e.text, e.intent) for e in examples] == [
        ("Card, still not here", "card_arrival"),
        ("Where is my refund?", "Refund_not_showing_up"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (
            jsonl({"text": "ok", "intent": "a"}, {"text": "no label"}),
            JSONL,
            "row 2: an example needs an intent or a concern",
        ),
        (jsonl({"text": "   ", "intent": "a"}), JSONL, "row 1: text is blank"),
        (jsonl({"text": "x" * 5001, "intent": "a"}), JSONL, "row 1: text: String should have at most 5000 characters"),
        (jsonl({"text": "ok", "intent": "a.b"}), JSONL, "row 1: intent: String should match pattern"),
        (jsonl({"text": "ok", "intent": "$where"}), JSONL, "row 1: intent: String should match pattern"),
        (jsonl({"text": "ok", "intent": "a", "language": "English"}), JSONL, "row 1: language"),
        (jsonl({"text": "ok", "intent": "a", "category": "b"}), JSONL, "row 1: category: Extra inputs"),
        (jsonl({"text": 7, "intent": "a"}), JSONL, "row 1: text: Input should be a valid string"),
        (jsonl(["text", "a"]), JSONL, "row 1: Input should be a valid dictionary"),
        (b'{"text": "ok", "intent": "a"}\n{"text": ', JSONL, "row 2: not a JSON object"),
        (b'{"text": "\\ud800", "intent": "a"}', JSONL, "row 1: text: Input should be a valid string"),
        (b"[" * 100_000 + b"]" * 100_000, JSONL, "row 1: not a JSON object"),
        (b"\xff\xfe", JSONL, "the body is not UTF-8"),
        (b"", JSONL, "the upload holds no examples"),
        (b"text,category\nhello,card_arrival\n", "text/csv", "the CSV header must name each of its columns once"),
        (b"text,intent,intent\nhello,a,b\n", "text/csv", "the CSV header must name each of its columns once"),
        (b"text,intent\nhello,a,extra\n", "text/csv", "row 2: 3 values for 2 columns"),
        (b"text,intent\n", "text/csv", "the upload holds no examples"),
        (b"text,intent\n" + b"x" * 200_000 + b",a\n", "text/csv", "field larger than field limit"),
        (b"text: hello", "text/plain", "send JSON Lines (application/jsonl) or CSV (text/csv), not text/plain"),
    ],
)
def test_an_upload_with_any_bad_row_is_refused_whole_naming_it(body: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(InvalidExamples) as refused:
        parse_examples(body, content_type)
    assert problem in str(refused.value)


def test_the_rows_at_fault_are_named_up_to_twenty_with_the_count_of_the_rest() -> None:
    body = jsonl(*({"text": "no label"} for _ in range(25)))
    with pytest.raises(InvalidExamples) as refused:
        parse_examples(body, JSONL)
    assert len(refused.value.problems) == 20
    assert str(refused.value).endswith("(and 5 more)")


def test_more_than_the_largest_upload_is_refused() -> None:
    body = b"\n".join([b'{"text": "t", "intent": "a"}'] * (MAX_ROWS + 1))
    with pytest.raises(InvalidExamples, match="at most 100,000 at once"):
        parse_examples(body, JSONL)
    assert len(parse_examples(b"\n".join([b'{"text": "t", "intent": "a"}'] * 1000), JSONL)) == 1000
