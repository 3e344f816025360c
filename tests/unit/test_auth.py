import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from frontline.plumbing.auth import ApiKey, CurrentPrincipal, KeyRing, Role, digest, requires
from frontline.plumbing.service import whoami_router

KEYS = [
    ApiKey(name="acme-desk", tenant="acme", role=Role.AGENT, sha256=digest("s3cret-agent-key")),
    ApiKey(name="globex-boss", tenant="globex", role=Role.SUPERVISOR, key="plain-supervisor-key"),
]


@pytest.fixture
def client() -> TestClient:
    api = FastAPI()
    api.state.keyring = KeyRing(KEYS)
    router = APIRouter()

    @router.get("/v1/queues", dependencies=[requires(Role.SUPERVISOR, Role.ADMIN)])
    async def queues(principal: CurrentPrincipal) -> dict[str, str]:
        return {"tenant": principal.tenant}

    api.include_router(router)
    api.include_router(whoami_router())
    return TestClient(api)


def test_a_key_identifies_its_tenant_and_role(client):
    answer = client.get("/v1/whoami", headers={"Authorization": "Bearer s3cret-agent-key"})
    assert answer.json() == {"name": "acme-desk", "tenant": "acme", "role": "agent"}


def test_the_x_api_key_header_works_too(client):
    answer = client.get("/v1/whoami", headers={"X-API-Key": "plain-supervisor-key"})
    assert answer.json()["tenant"] == "globex"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing API key"),
        ({"Authorization": "Bearer wrong-key-123"}, "unknown API key"),
        ({"X-API-Key": "s3cret-agent-key-but-longer"}, "unknown API key"),
    ],
)
def test_missing_or_unknown_keys_get_401(client, headers, detail):
    answer = client.get("/v1/whoami", headers=headers)
    assert answer.status_code == 401
    assert detail in answer.json()["detail"]
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_role_without_the_right_gets_403_naming_the_roles_needed(client):
    answer = client.get("/v1/queues", headers={"Authorization": "Bearer s3cret-agent-key"})
    assert answer.status_code == 403
    assert "needs one of: supervisor, admin" in answer.json()["detail"]


def test_a_permitted_role_is_scoped_to_its_own_tenant(client):
    answer = client.get("/v1/queues", headers={"Authorization": "Bearer plain-supervisor-key"})
    assert answer.json() == {"tenant": "globex"}


def test_a_key_needs_exactly_one_secret():
    with pytest.raises(ValueError, match="exactly one of sha256 or key"):
        ApiKey(name="x", tenant="acme", role=Role.ADMIN)
    with pytest.raises(ValueError, match="exactly one of sha256 or key"):
        ApiKey(name="x", tenant="acme", role=Role.ADMIN, key="k" * 10, sha256="a" * 64)
