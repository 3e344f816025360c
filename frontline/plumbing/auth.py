"""API keys scoped to one tenant and one role; every REST route knows who calls and for whom."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Self

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEVELOPMENT_TENANTS = ("acme", "globex")


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"


class ApiKey(BaseModel):
    """A configured key: its sha256 (or, in development only, the key itself)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    tenant: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    role: Role
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    key: str | None = Field(default=None, min_length=8)
    agent_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="An agent key acts only as this agent."
    )

    @model_validator(mode="after")
    def _exactly_one_secret(self) -> Self:
        if (self.sha256 is None) == (self.key is None):
            raise ValueError("give exactly one of sha256 or key")
        if self.agent_id is not None and self.role is not Role.AGENT:
            raise ValueError("agent_id binds an agent key; other roles act for the whole tenant")
        return self

    @property
    def digest(self) -> str:
        return self.sha256 or digest(self.key or "")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a named key acting for one tenant in one role."""

    name: str
    tenant: str
    role: Role
    agent_id: str | None = None

    def may(self, *roles: Role) -> bool:
        return self.role in roles

    def acts_as(self, agent_id: str) -> None:
        """Raises 403 unless this caller may act as `agent_id`: an agent key only as its own agent."""
        if self.role is Role.AGENT and self.agent_id != agent_id:
            bound = f"bound to agent {self.agent_id!r}" if self.agent_id else "not bound to an agent"
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this agent key is {bound}; it cannot act as {agent_id!r}")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def development_keys() -> list[ApiKey]:
    """Well-known keys `dev-<tenant>-<role>` so local tools and tests can call the APIs."""
    return [
        ApiKey(name=f"dev-{tenant}-{role}", tenant=tenant, role=role, key=f"dev-{tenant}-{role}")
        for tenant in DEVELOPMENT_TENANTS
        for role in Role
    ]


class KeyRing:
    """Looks a presented key up by its digest, in constant time per comparison."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_digest = {key.digest: key for key in keys}

    def principal(self, presented: str) -> Principal | None:
        presented_digest = digest(presented)
        for known_digest, key in self._by_digest.items():
            if hmac.compare_digest(known_digest, presented_digest):
                return Principal(name=key.name, tenant=key.tenant, role=key.role, agent_id=key.agent_id)
        return None


_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <api key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <api key>")


def authenticated(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Principal:
    presented = bearer.credentials if bearer else header
    if not presented:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key (Authorization: Bearer or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keyring: KeyRing = request.app.state.keyring
    principal = keyring.principal(presented)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def requires(*roles: Role) -> Any:
    """A dependency that lets only the given roles through (403 for the others)."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.may(*roles):
            allowed = ", ".join(role.value for role in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {principal.role.value} may not do this; needs one of: {allowed}"
            )
        return principal

    return Depends(check)


# the role sets the services' routes ask for
Anyone = requires(*Role)
Desk = requires(Role.AGENT, Role.SUPERVISOR, Role.SYSTEM)  # whoever works contacts
Managers = requires(Role.SUPERVISOR, Role.ADMIN, Role.SYSTEM)
Admins = requires(Role.ADMIN, Role.SYSTEM)
