"""Intake learns a tenant's concerns: from uploaded history first, then from what agents say at
wrap-up (contact.handled v2 on Kafka), each version measured on held-back examples and made live
only when it beats what classifies now; a supervisor can roll back. Real broker, real store, the
intake service as a process, in a database of its own."""

import json
import random
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from frontline.contracts.agents import ContactHandled, Handled
from tests.integration.helpers import eventually, free_port, running_service, service_environment

TENANT = "initech"  # no other test uses it: its contacts reach routing and records as nobody's queue
ADMIN = {"Authorization": "Bearer learning-admin"}
SYSTEM = {"Authorization": "Bearer learning-system"}
ITEMS = ["lamp", "sofa", "phone", "jacket", "kettle", "printer", "bike", "desk", "camera", "rug"]
HISTORY = {
    "billing": [
        "why is my bill for the {item} higher than last month",
        "you took money twice for the {item}",
        "the amount on my statement for the {item} is wrong",
        "I paid for the {item} but you still ask for payment",
    ],
    "orders_delivery": [
        "where is the {item} I ordered last week",
        "the courier never brought my {item}",
        "tracking for my {item} has not moved for days",
        "the {item} was left at the wrong address",
    ],
    "account_access": [
        "I cannot sign in to see the {item} I bought",
        "my login stopped working after I looked at the {item}",
        "reset my password, I need to check the {item}",
        "the app says my account is locked since I bought the {item}",
    ],
}
# a kind of contact the history never shows: the first model cannot name it
UNSEEN = "please stop my {item} subscription number {n}, I no longer want it renewed"
CORRECTED = "cancellation"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def intake(settings, mongo_client, tmp_path_factory):
    port = free_port()
    database = f"{settings.mongodb_database}_learning"
    keys = [
        {"name": "learning-admin", "tenant": TENANT, "role": "admin", "key": "learning-admin"},
        {"name": "learning-system", "tenant": TENANT, "role": "system", "key": "learning-system"},
    ]
    env = service_environment(settings, port) | {
        "FRONTLINE_MONGODB_DATABASE": database,
        # groups of its own from the end of the topics: what other runs left there is not its business
        "FRONTLINE_KAFKA_GROUP_PREFIX": f"learning-{uuid.uuid4().hex[:8]}",
        "FRONTLINE_KAFKA_OFFSET_RESET": "latest",
        "FRONTLINE_API_KEYS": json.dumps(keys),
        "FRONTLINE_INTAKE_TRAINING_POLL_SECONDS": "1",
        "FRONTLINE_INTAKE_TRAINING_PAUSE_SECONDS": "0",
        "FRONTLINE_INTAKE_MODELS_KEPT": "2",
        "FRONTLINE_INTAKE_TAXONOMY_CACHE_SECONDS": "0",
    }
    logs = tmp_path_factory.mktemp("intake-learning")
    try:
        async with (
            running_service("intake", env, port, logs) as service,
            httpx.AsyncClient(base_url=service.url, timeout=30) as http,
        ):
            yield http
    finally:
        await mongo_client.drop_database(database)


def history() -> list[dict[str, str]]:
    return [
        {"text": template.format(item=item), "concern": concern}
        for concern, templates in HISTORY.items()
        for template in templates
        for item in ITEMS
    ]


async def models(http) -> dict:
    answer = await http.get("/v1/models", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def trained_on(http, examples: int) -> dict:
    """The tenant's models once a training has read `examples` examples and nothing waits."""
    state: dict = {}

    async def done() -> bool:
        state.update(await models(http))
        last = state["last_training"] or {}
        return not state["training_pending"] and last.get("examples") == examples

    await eventually(done, within=180, what=f"a training on {examples} examples")
    return state


async def submit(http, texts: list[str]) -> list[dict]:
    contacts = [
        {"channel": "email", "customer": {"email": f"{uuid.uuid4().hex[:10]}@example.com"}, "text": text}
        for text in texts
    ]
    answer = await http.post("/v1/contacts:batch", json={"contacts": contacts}, headers=SYSTEM)
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()["contacts"]


def unseen(count: int, seed: int) -> list[str]:
    draw = random.Random(seed)
    return [UNSEEN.format(item=draw.choice(ITEMS), n=seed * 10_000 + i) for i in range(count)]


@pytest.mark.timeout(600)
async def test_agents_corrections_teach_the_next_version_and_a_supervisor_can_roll_back(intake, producer):
    uploaded = history()
    body = "\n".join(json.dumps(row) for row in uploaded).encode()
    stored = await intake.post("/v1/training-examples", content=body, headers=ADMIN | {"Content-Type": "text/csv"})
    assert stored.status_code == 422  # JSON Lines sent as CSV: refused whole, nothing kept
    stored = await intake.post(
        "/v1/training-examples", content=body, headers=ADMIN | {"Content-Type": "application/jsonl"}
    )
    assert stored.status_code == 201, stored.text

    first = await trained_on(intake, len(uploaded))
    assert first["live"] == 1, first
    [version] = first["versions"]
    assert (version["promoted"], version["live"], version["live_concern_macro_f1"]) == (True, True, None)
    measured = (await intake.get("/v1/models/1", headers=ADMIN)).json()
    assert measured["held_back"] == measured["concern_evaluation"]["examples"] > 0
    assert measured["concern_evaluation"]["macro_f1"] > measured["keywords_concern_macro_f1"]
    assert (version["languages"], measured["languages"]) == (["en"], ["en"])

    # a contact in a language the model never learned is read by the taxonomy's keywords
    [dutch] = await submit(intake, ["Mijn factuur klopt niet, er is twee keer afgeschreven van mijn rekening."])
    assert (dutch["contact"]["language"]["code"], dutch["contact"]["model_version"]) == ("nl", None)
    assert dutch["contact"]["concern"]["code"] == "billing"

    # five hundred contacts of a kind the first version never saw: it cannot name their concern
    contacts = await submit(intake, unseen(500, seed=1))
    assert {c["contact"]["model_version"] for c in contacts} == {1}
    assert all(c["contact"]["concern"]["code"] != CORRECTED for c in contacts)

    # the agents who handle them say what they were about, at wrap-up, through Kafka
    now = datetime.now(UTC)
    for contact in contacts:
        await producer.publish(
            ContactHandled.new(
                data=Handled(agent_id="agent-7", disposition="cancelled", concern=CORRECTED),
                tenant=TENANT,
                source="desk",
                occurred_at=now,
                contact_id=contact["contact_id"],
            )
        )

    learned = await trained_on(intake, len(uploaded) + 500)
    corrections = await intake.get("/v1/training-examples/corrections", headers=ADMIN)
    taught = [json.loads(line) for line in corrections.text.splitlines()]
    assert len(taught) == 500
    assert {row["concern"] for row in taught} == {CORRECTED}
    assert {row["text"] for row in taught} == {c["contact"]["text"] for c in contacts}
    assert learned["live"] > 1, learned
    live = await intake.get(f"/v1/models/{learned['live']}", headers=ADMIN)
    assert live.status_code == 200
    f1 = {score["label"]: score["f1"] for score in live.json()["concern_evaluation"]["f1_by_label"]}
    assert f1[CORRECTED] > 0.9, f1
    assert live.json()["concerns"][CORRECTED] == CORRECTED

    [fresh] = await submit(intake, unseen(1, seed=2))
    assert fresh["contact"]["concern"]["code"] == CORRECTED
    assert fresh["contact"]["model_version"] == learned["live"]
    assert fresh["contact"]["required_skills"] == [{"skill": "retention", "min_proficiency": 2}]

    # the bytes of the newest two versions and the live one are kept; every version's evaluation stays
    versions = learned["versions"]
    assert [v["version"] for v in versions] == list(range(1, len(versions) + 1))
    stored = [v["version"] for v in versions if v["stored"]]
    assert stored == sorted({versions[-1]["version"], versions[-2]["version"], learned["live"]})
    if len(versions) > 3:
        pruned = next(v["version"] for v in versions if not v["stored"])
        assert (await intake.put("/v1/models/live", json={"version": pruned}, headers=ADMIN)).status_code == 409

    other = next(version for version in stored if version != learned["live"])
    rolled_back = await intake.put("/v1/models/live", json={"version": other}, headers=ADMIN)
    assert rolled_back.status_code == 200
    assert (rolled_back.json()["live"], rolled_back.json()["live_by"]) == (other, "learning-admin")
    [old] = await submit(intake, unseen(1, seed=3))
    assert old["contact"]["model_version"] == other

    keywords = await intake.put("/v1/models/live", json={"version": None}, headers=ADMIN)
    assert keywords.json()["live"] is None
    [plain] = await submit(intake, ["You charged me twice, where is my invoice?"])
    assert (plain["contact"]["model_version"], plain["contact"]["concern"]["code"]) == (None, "billing")

    assert (await intake.put("/v1/models/live", json={"version": 999}, headers=ADMIN)).status_code == 404
    assert (await intake.get("/v1/models/999", headers=ADMIN)).status_code == 404
    assert (await intake.get("/v1/models", headers=SYSTEM)).status_code == 403
