import copy
import json

from frontline.contracts import REGISTRY
from frontline.contracts.compatibility import breaking_changes
from frontline.contracts.schemas import OUTPUT, asyncapi, event_schema, incompatible, stale_files, write


def test_committed_schemas_match_the_models():
    """Fails when a model changes without `make schemas`; the message names the stale files."""
    assert stale_files() == [], f"docs/events/ is stale, run `make schemas`: {stale_files()}"


def test_committed_schemas_are_compatible_with_the_models():
    assert incompatible() == []


def test_the_drift_check_notices_a_changed_or_extra_file(tmp_path):
    write(tmp_path)
    assert stale_files(tmp_path) == []
    first = next(tmp_path.glob("*.schema.json"))
    first.write_text(first.read_text().replace('"title"', '"titel"', 1))
    (tmp_path / "contact.vanished.v1.schema.json").write_text("{}")
    assert stale_files(tmp_path) == sorted([first.name, "contact.vanished.v1.schema.json"])


def test_asyncapi_document_names_every_event_on_its_topic():
    document = asyncapi()
    assert document["asyncapi"] == "3.0.0"
    for spec in REGISTRY.values():
        name = spec.model.__name__
        channel = document["channels"][spec.topic.name]
        assert channel["address"] == spec.topic.value
        assert channel["messages"][name] == {"$ref": f"#/components/messages/{name}"}
        assert document["components"]["messages"][name]["name"] == spec.type
    refs = [ref for ref in _refs(document) if ref.startswith("#/components/schemas/")]
    assert all(ref.rsplit("/", 1)[1] in document["components"]["schemas"] for ref in refs)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_event_schema_requires_the_envelope():
    for spec in REGISTRY.values():
        required = set(event_schema(spec)["required"])
        assert {"id", "occurred_at", "source", "tenant", "correlation_id", "data"} <= required


def _received() -> dict:
    return json.loads((OUTPUT / "contact.received.v1.schema.json").read_text())


def test_adding_an_optional_field_is_compatible():
    old = _received()
    new = copy.deepcopy(old)
    new["properties"]["hops"] = {"type": "integer"}
    assert breaking_changes(old, new) == []


def test_removing_retyping_or_requiring_a_field_is_breaking():
    old = _received()
    new = copy.deepcopy(old)
    data = new["$defs"]["ContactReceivedData"]
    del data["properties"]["escalate"]
    data["properties"]["priority"] = {"type": "string"}
    data["required"].append("external_id")
    problems = breaking_changes(old, new)
    assert "$.data.escalate: removed" in problems
    assert "$.data.priority: no longer accepts integer" in problems
    assert "$.data.external_id: newly required" in problems


def test_removing_an_enum_value_or_changing_a_constant_is_breaking():
    old = _received()
    new = copy.deepcopy(old)
    new["$defs"]["Channel"]["enum"].remove("fax")
    new["properties"]["type"]["const"] = "contact.arrived"
    problems = breaking_changes(old, new)
    assert "$.data.channel: values removed: fax" in problems
    assert any(p.startswith("$.type: constant changed") for p in problems)


def test_nested_array_items_are_compared():
    old = _received()
    new = copy.deepcopy(old)
    del new["$defs"]["SkillRequirement"]["properties"]["min_proficiency"]
    assert "$.data.required_skills[].min_proficiency: removed" in breaking_changes(old, new)
