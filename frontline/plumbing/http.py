"""The REST door's guards, the same on every service: a body cap, JSON that is text and finite
numbers, validation errors that are safe to encode, and the client's faults answered as 4xx —
503 only when the store or the broker is really unavailable."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from bson.errors import BSONError
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, DocumentTooLarge, ExecutionTimeout, PyMongoError, WTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontline.contracts.envelope import EventTooLarge
from frontline.plumbing.logging import get_logger

log = get_logger(__name__)
INT64 = 2**63 - 1
ECHOED_CHARACTERS = 120  # of a rejected value, in a validation error


class SafeJSONResponse(JSONResponse):
    """JSON that always encodes: non-ASCII escaped (lone surrogates included), no NaN."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, default=str, separators=(",", ":")).encode()


class HostileJson(ValueError):
    """A JSON body no field of ours can hold: a lone surrogate, a NUL in a key, a non-finite or
    beyond-int64 number."""


@dataclass(frozen=True)
class _Unfit:
    """A number as written, that no field can hold; reported with the key it was found under."""

    text: str
    why: str


def _float(text: str) -> float | _Unfit:
    value = float(text)
    return value if math.isfinite(value) else _Unfit(text[:40], "is too large for a double")


def _int(text: str) -> int | _Unfit:
    if len(text) > 20 or not -INT64 - 1 <= int(text) <= INT64:
        return _Unfit(text[:40], "is outside 64-bit integers")
    return int(text)


def _constant(name: str) -> _Unfit:
    return _Unfit(name, "is not a JSON number; numbers must be finite")


def _checked(value: Any, where: str) -> None:
    if isinstance(value, _Unfit):
        raise HostileJson(f"{where}: {value.text} {value.why}")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise HostileJson(f"{where}: holds a lone surrogate (e.g. \\ud800), which is not text") from None


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    for key, value in pairs:
        _checked(key, "a key")
        if "\x00" in key:
            raise HostileJson("a key holds a NUL character")
        _checked(value, key[:60])
    return dict(pairs)


def check_json(body: bytes) -> None:
    """Raises HostileJson naming the problem; leaves malformed JSON to the framework's own error."""
    try:
        parsed = json.loads(
            body, parse_float=_float, parse_int=_int, parse_constant=_constant, object_pairs_hook=_pairs
        )
    except (json.JSONDecodeError, UnicodeDecodeError):
        return
    stack = [parsed]
    _checked(parsed, "the body")
    while stack:  # what lists hold (what objects hold was checked by _pairs)
        item = stack.pop()
        if isinstance(item, list):
            for element in item:
                _checked(element, "a list")
                if isinstance(element, list | dict):
                    stack.append(element)
        elif isinstance(item, dict):
            stack.extend(v for v in item.values() if isinstance(v, list | dict))


class GuardedBody:
    """ASGI middleware: a request body over `max_bytes` (or its path's own limit in `larger`)
    answers 413 before the app reads it, and a JSON body is checked by `check_json` (422)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app, self.default_max, self.larger = app, max_bytes, dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope["path"], self.default_max)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > max_bytes:
            await self._refuse(scope, send, 413, f"the request body is over {max_bytes:,} bytes")
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await self._refuse(scope, send, 413, f"the request body is over {max_bytes:,} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _whole_json(headers.get(b"content-type", b"")) and body:
            try:
                check_json(body)
            except HostileJson as hostile:
                await self._refuse(scope, send, 422, str(hostile))
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
        await SafeJSONResponse({"detail": detail}, status_code=status)(scope, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def _echo(value: Any) -> Any:
    if isinstance(value, str):
        return value[:ECHOED_CHARACTERS]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return f"({type(value).__name__})"


async def validation_failed(request: Request, error: Exception) -> Response:
    """422 naming every bad field, echoing at most a short piece of each rejected value."""
    assert isinstance(error, RequestValidationError)
    problems = [
        {
            "loc": list(problem.get("loc", ())),
            "msg": problem.get("msg", ""),
            "type": problem.get("type", ""),
            "input": _echo(problem.get("input")),
        }
        for problem in error.errors()[:50]
    ]
    return SafeJSONResponse({"detail": problems}, status_code=422)


def _answer(status: int, detail: str, **headers: str) -> Response:
    return SafeJSONResponse({"detail": detail}, status_code=status, headers=headers or None)


STORE_REFUSALS = {2, 52, 55, 57, 10334, 16755, 17419, 17280}  # bad value, $- or dotted names, too large


async def store_failed(request: Request, error: Exception) -> Response:
    """Unreachable or timing out: 503, retry. Refusing a value the client sent: 4xx."""
    if isinstance(error, DocumentTooLarge):
        return _answer(413, "the request makes a document too large to store")
    if (
        isinstance(error, ConnectionFailure | ExecutionTimeout | WTimeoutError)
        or getattr(error, "code", None) not in STORE_REFUSALS
    ):
        log.error("the store failed during a request", path=request.url.path, error=f"{type(error).__name__}: {error}")
        return _answer(503, "the store is unavailable; retry shortly", **{"Retry-After": "2"})
    return _answer(422, f"the store cannot keep a value of this request: {str(error)[:200]}")


async def broker_failed(request: Request, error: Exception) -> Response:
    if isinstance(error, MessageSizeTooLargeError | EventTooLarge):
        return _answer(413, f"the request makes an event too large for the broker: {str(error)[:200]}")
    log.error("the broker failed during a request", path=request.url.path, error=f"{type(error).__name__}: {error}")
    return _answer(503, "the event broker is unavailable; retry shortly", **{"Retry-After": "2"})


async def value_unstorable(request: Request, error: Exception) -> Response:
    """Values that pass a loose field but that BSON, date arithmetic or UTF-8 cannot hold."""
    log.warning("a request value could not be handled", path=request.url.path, error=f"{type(error).__name__}: {error}")
    return _answer(422, f"a value of this request cannot be handled: {type(error).__name__}: {str(error)[:200]}")


def _whole_json(content_type: bytes) -> bool:
    """A body that is one JSON document (JSON Lines are read line by line by their route)."""
    kind = content_type.split(b";", 1)[0].strip().lower()
    return b"json" in kind and not kind.endswith((b"jsonl", b"ndjson", b"jsonlines", b"json-seq"))


def guard(api: FastAPI, *, max_body_bytes: int, larger_bodies: Mapping[str, int] | None = None) -> None:
    """Installs the guards on a service's app; `larger_bodies` raises the body limit of some paths."""
    api.add_middleware(GuardedBody, max_bytes=max_body_bytes, larger=larger_bodies)
    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
        RequestValidationError: validation_failed,
        PyMongoError: store_failed,
        KafkaError: broker_failed,
        EventTooLarge: broker_failed,
        BSONError: value_unstorable,
        OverflowError: value_unstorable,
        UnicodeEncodeError: value_unstorable,
    }
    for kind, handler in handlers.items():
        api.add_exception_handler(kind, handler)
