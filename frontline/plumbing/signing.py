"""Events prove who wrote them: every Frontline message carries the id of the key that wrote it and
an HMAC-SHA256 of its value under that key, in two headers. Consumers act on an event only when

- the signature is right, and
- the key may write it: a *tenant key* acts for its one tenant, on the event types systems outside
  Frontline may write (contacts submitted, agents' events, routing requests, upsell outcomes,
  erasure requests); a *service key* acts for every tenant, on the event types its service owns.

Keys rotate by id: a consumer accepts every configured key, a producer signs with its newest.
Outside production, well-known development keys are derived for any tenant and service
(`dev-tenant:<tenant>`, `dev-service:<service>`), as development API keys are; in production only
configured keys count. See docs/design/event-authenticity.md for why HMAC and not only Kafka ACLs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from frontline.contracts import REGISTRY, TOPICS, Event
from frontline.contracts.envelope import TenantId

KEY_HEADER = "frontline-key"
SIGNATURE_HEADER = "frontline-signature"
DEVELOPMENT_SEED = b"frontline development keys: never in production"
ServiceName = Literal["intake", "routing", "upsell", "records"]
Headers = Sequence[tuple[str, bytes]]
FRONTLINE_TOPICS = frozenset(topic.value for topic in TOPICS)


class EventKey(BaseModel):
    """A configured signing key: for one tenant (an outside system) or one service."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    secret: SecretStr = Field(min_length=32)
    tenant: TenantId | None = None
    service: ServiceName | None = None

    @model_validator(mode="after")
    def _for_one_writer(self) -> Self:
        if (self.tenant is None) == (self.service is None):
            raise ValueError("a key is for exactly one of a tenant or a service")
        return self


def signature(secret: bytes, value: bytes) -> str:
    return hmac.new(secret, value, hashlib.sha256).hexdigest()


@lru_cache(maxsize=1024)
def _development_key(ident: str) -> EventKey | None:
    kind, _, name = ident.partition(":")
    secret = hmac.new(DEVELOPMENT_SEED, ident.encode(), hashlib.sha256).hexdigest()
    if kind == "dev-tenant" and name:
        return EventKey(id=ident, secret=SecretStr(secret), tenant=name)
    if kind == "dev-service" and name in ("intake", "routing", "upsell", "records"):
        return EventKey(id=ident, secret=SecretStr(secret), service=name)
    return None


class Signer(Protocol):
    def headers(self, event: Event, value: bytes) -> list[tuple[str, bytes]]: ...


class KeySigner:
    """Signs everything with one key."""

    def __init__(self, key: EventKey) -> None:
        self.key = key
        self._secret = key.secret.get_secret_value().encode()

    def headers(self, event: Event | None, value: bytes) -> list[tuple[str, bytes]]:
        return [(KEY_HEADER, self.key.id.encode()), (SIGNATURE_HEADER, signature(self._secret, value).encode())]


class EventKeys:
    """The keys a process knows: it verifies every message it consumes against them."""

    def __init__(self, keys: Sequence[EventKey], *, development: bool) -> None:
        self._keys = {key.id: key for key in keys}
        self._development = development

    def key(self, ident: str) -> EventKey | None:
        found = self._keys.get(ident)
        if found is None and self._development:
            found = _development_key(ident)
        return found

    def for_service(self, service: str) -> KeySigner:
        """The service's newest configured key (the last listed), or outside production its development key."""
        return self._newest([key for key in self._keys.values() if key.service == service], f"dev-service:{service}")

    def for_tenant(self, tenant: str) -> KeySigner:
        """A tenant's newest configured key, or outside production its development key: for tools
        that write as the tenant's own systems do."""
        return self._newest([key for key in self._keys.values() if key.tenant == tenant], f"dev-tenant:{tenant}")

    def _newest(self, configured: list[EventKey], development: str) -> KeySigner:
        if configured:
            return KeySigner(configured[-1])
        key = self._development and _development_key(development)
        if not key:
            raise LookupError(f"no event signing key for {development.partition(':')[2]} (FRONTLINE_EVENT_KEYS)")
        return KeySigner(key)

    def signed_by_service(self, value: bytes, headers: Headers, service: str) -> bool:
        """Whether `service` wrote this value (for a service's own state, which is not an event)."""
        found = dict(headers)
        key = self.key(found.get(KEY_HEADER, b"").decode(errors="replace"))
        if key is None or key.service != service:
            return False
        return hmac.compare_digest(
            signature(key.secret.get_secret_value().encode(), value).encode(), found.get(SIGNATURE_HEADER, b"")
        )

    def refusal(self, event: Event, value: bytes, headers: Headers, topic: str) -> str | None:
        """Why this message may not be acted on, or None when its writer may write it here."""
        spec = REGISTRY[event.type]
        if topic in FRONTLINE_TOPICS and topic != spec.topic.value:
            return f"{event.type} events belong on {spec.topic.value}, not {topic}"
        found = dict(headers)
        ident = found.get(KEY_HEADER, b"").decode(errors="replace")
        if not ident:
            return f"unsigned: the {KEY_HEADER} and {SIGNATURE_HEADER} headers are missing"
        key = self.key(ident)
        if key is None:
            return f"signed with an unknown key {ident[:128]!r}"
        expected = signature(key.secret.get_secret_value().encode(), value)
        if not hmac.compare_digest(expected.encode(), found.get(SIGNATURE_HEADER, b"")):
            return f"the signature does not match key {ident!r}"
        if key.service is not None:
            if key.service != spec.owner:
                return f"the {key.service} service's key may not write {event.type} (its owner is {spec.owner})"
            return None
        if key.tenant != event.tenant:
            return f"key {ident!r} acts for tenant {key.tenant!r}, not {event.tenant!r}"
        if not spec.external:
            return f"{event.type} is written by the {spec.owner} service only, not by a tenant's key"
        return None


class WriterSigner:
    """Signs each event as an outside system of its tenant would, or as its owning service where
    only the service may write it: for development tools and tests, with development keys."""

    def __init__(self, keys: EventKeys) -> None:
        self._keys = keys

    def headers(self, event: Event, value: bytes) -> list[tuple[str, bytes]]:
        return self.headers_for(event.type, event.tenant, value)

    def headers_for(self, event_type: str, tenant: str, value: bytes) -> list[tuple[str, bytes]]:
        spec = REGISTRY[event_type]
        key = self._keys.key(f"dev-tenant:{tenant}" if spec.external else f"dev-service:{spec.owner}")
        if key is None:
            raise LookupError("development keys are not available in production")
        return KeySigner(key).headers(None, value)
