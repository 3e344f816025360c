"""Every overlay renders (kustomize), every object validates against the Kubernetes schemas
offline, every policy holds; and each policy, shown a deliberately broken manifest, names it."""

import copy
import importlib.util
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"deploy_{name}", ROOT / "deploy" / "k8s" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


policies = _load("policies")


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {overlay: policies.render(overlay) for overlay in ("dev", "prod")}


def test_the_committed_base_is_what_the_generator_writes():
    done = subprocess.run(
        [sys.executable, "deploy/k8s/generate.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_overlay_renders_validates_and_keeps_every_policy(rendered, overlay):
    objects = rendered[overlay]
    kinds = policies.counts(objects)
    assert kinds["Deployment"] == kinds["Service"] == kinds["PodDisruptionBudget"] == 4
    assert kinds["KafkaTopic"] == 17
    assert policies.check(overlay, objects) == []


def test_dev_and_prod_differ_where_they_should(rendered):
    def replicas(overlay: str) -> set[int]:
        return {d["spec"]["replicas"] for d in rendered[overlay] if d["kind"] == "Deployment"}

    assert replicas("dev") == {1}
    assert replicas("prod") == {3}
    dev_topic = next(o for o in rendered["dev"] if o["kind"] == "KafkaTopic")
    prod_topic = next(o for o in rendered["prod"] if o["kind"] == "KafkaTopic")
    assert (dev_topic["spec"]["replicas"], prod_topic["spec"]["replicas"]) == (1, 3)
    assert not [o for o in rendered["prod"] if o["kind"] == "Secret"], "production secrets are not in git"


def _deployment(objects: list[dict[str, Any]], name: str = "frontline-routing") -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


def _container(objects: list[dict[str, Any]], name: str = "frontline-routing") -> dict[str, Any]:
    return _deployment(objects, name)["spec"]["template"]["spec"]["containers"][0]


def _drop(objects, kind, name="frontline-routing"):
    objects[:] = [o for o in objects if not (o["kind"] == kind and o["metadata"]["name"] == name)]


def _topic_gone(objects):
    objects[:] = [
        o
        for o in objects
        if not (o["kind"] == "KafkaTopic" and o["spec"]["topicName"] == "frontline.upsell.outcomes.dlq")
    ]


def _retention_changed(objects):
    topic = next(
        o for o in objects if o["kind"] == "KafkaTopic" and o["spec"]["topicName"] == "frontline.routing.events"
    )
    topic["spec"]["config"]["retention.ms"] = "86400000"


def _acl_removed(objects):
    user = next(o for o in objects if o["kind"] == "KafkaUser" and o["metadata"]["name"] == "frontline-upsell")
    acls = user["spec"]["authorization"]["acls"]
    acls[:] = [a for a in acls if a["resource"]["name"] != "frontline.upsell.outcomes"]


def _integrations_write_facts(objects):
    user = next(o for o in objects if o["kind"] == "KafkaUser" and o["metadata"]["name"] == "frontline-integrations")
    acl = {"resource": {"type": "topic", "name": "frontline.routing.events", "patternType": "literal"}}
    user["spec"]["authorization"]["acls"].append(acl | {"operations": ["Write"], "host": "*"})


def _kafka(objects):
    return next(o for o in objects if o["kind"] == "Kafka")["spec"]["kafka"]


BREAKAGES: list[tuple[str, str, Callable[[list[dict[str, Any]]], None], str]] = [
    ("probes", "dev", lambda o: _container(o).pop("readinessProbe"), "frontline-routing/routing: readinessProbe"),
    (
        "probes",
        "dev",
        lambda o: _container(o)["livenessProbe"]["httpGet"].update(path="/"),
        "livenessProbe must GET /healthz",
    ),
    ("resources", "dev", lambda o: _container(o)["resources"].pop("limits"), "resources.limits lacks cpu, memory"),
    (
        "non-root",
        "dev",
        lambda o: _container(o)["securityContext"].update(runAsNonRoot=False),
        "runAsNonRoot must be true",
    ),
    (
        "non-root",
        "dev",
        lambda o: _container(o)["securityContext"].update(readOnlyRootFilesystem=False),
        "readOnlyRootFilesystem",
    ),
    (
        "non-root",
        "dev",
        lambda o: _container(o)["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        "drop must be [ALL]",
    ),
    ("companions", "dev", lambda o: _drop(o, "PodDisruptionBudget"), "frontline-routing: needs a PodDisruptionBudget"),
    ("companions", "dev", lambda o: _drop(o, "Service"), "frontline-routing: needs a Service"),
    ("companions", "dev", lambda o: _drop(o, "HorizontalPodAutoscaler"), "needs a HorizontalPodAutoscaler"),
    ("companions", "dev", lambda o: _drop(o, "NetworkPolicy"), "needs a NetworkPolicy"),
    (
        "graceful shutdown",
        "dev",
        lambda o: _deployment(o)["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=10),
        "must cover preStop",
    ),
    ("topics", "dev", _topic_gone, "topic frontline.upsell.outcomes.dlq: no KafkaTopic"),
    ("topics", "dev", _retention_changed, "topic frontline.routing.events: retention.ms must be 2592000000"),
    ("acls", "dev", _acl_removed, "upsell: its code uses frontline.upsell.outcomes but its KafkaUser may not"),
    ("writers", "dev", _integrations_write_facts, "frontline-integrations may write frontline.routing.events"),
    (
        "settings and ports",
        "dev",
        lambda o: _container(o)["env"].append({"name": "FRONTLINE_ROUTING_TICK_SECOND", "value": "1"}),
        "FRONTLINE_ROUTING_TICK_SECOND is not a setting",
    ),
    (
        "settings and ports",
        "dev",
        lambda o: _container(o)["ports"][0].update(containerPort=8080),
        "containerPort must be 8002",
    ),
    (
        "versions",
        "dev",
        lambda o: _kafka(o).update(version="4.1.0"),
        "Kafka 4.1.0 is not supported by Strimzi 1.2.0 (it supports 4.2.0, 4.3.0, 4.3.1)",
    ),
    ("versions", "prod", lambda o: _kafka(o).update(metadataVersion="4.2-IV1"), "runs metadataVersion 4.3-IV0"),
    (
        "versions",
        "prod",
        lambda o: next(d for d in o if d["kind"] == "MongoDBCommunity")["spec"].update(version="7.0.2"),
        "MongoDB 7.0.2 is not the pinned one",
    ),
    (
        "high availability",
        "prod",
        lambda o: _deployment(o)["spec"].update(replicas=1),
        "production needs replicas >= 2",
    ),
    (
        "high availability",
        "prod",
        lambda o: [
            _deployment(o)["spec"]["template"]["spec"].pop(k) for k in ("topologySpreadConstraints", "affinity")
        ],
        "topology spread or pod anti-affinity",
    ),
]


@pytest.mark.parametrize(
    ("policy", "overlay", "breakage", "message"), BREAKAGES, ids=[f"{b[0]}: {b[3][:40]}" for b in BREAKAGES]
)
def test_a_deliberately_broken_manifest_is_caught_by_its_policy(rendered, policy, overlay, breakage, message):
    objects = copy.deepcopy(rendered[overlay])
    everything = {**policies.POLICIES, **policies.PRODUCTION}
    assert everything[policy](objects) == [], "the manifest is fine before it is broken"
    breakage(objects)
    found = everything[policy](objects)
    assert any(message in problem for problem in found), found


def test_the_schemas_catch_a_malformed_object_and_a_retired_api_version(rendered):
    objects = copy.deepcopy(rendered["dev"])
    _deployment(objects)["spec"]["replicas"] = "three"
    _container(objects, "frontline-intake")["readinessProbe"]["httpGet"]["pth"] = "/readyz"
    topic = next(o for o in objects if o["kind"] == "KafkaTopic")
    topic["apiVersion"] = "kafka.strimzi.io/v1beta2"
    errors = policies.schema_errors(objects)
    assert any("Deployment/frontline-routing" in e and "'three' is not of type 'integer'" in e for e in errors), errors
    assert any("Deployment/frontline-intake" in e and "pth" in e for e in errors), errors
    assert any("v1beta2 is not served" in e for e in errors), errors


def _prepared(tmp_path: Path, upgrade: str) -> subprocess.CompletedProcess[str]:
    versions = tmp_path / "versions.toml"
    versions.write_text((ROOT / "deploy" / "versions.toml").read_text() + upgrade)
    command = [sys.executable, "deploy/k8s/policies.py", "--next", "--versions", str(versions)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_an_upgrade_prepared_in_the_versions_renders_and_is_checked_in_order(tmp_path):
    unprepared = subprocess.run(
        [sys.executable, "deploy/k8s/policies.py", "--next"], cwd=ROOT, capture_output=True, text=True
    )
    assert unprepared.returncode == 0
    assert "no upgrade prepared" in unprepared.stdout, unprepared.stdout
    operator_first = _prepared(
        tmp_path, '\n[next.strimzi]\nversion = "1.3.0"\nkafka = { "4.3.1" = "4.3-IV0", "4.4.0" = "4.4-IV0" }\n'
    )
    assert operator_first.returncode == 0, operator_first.stdout + operator_first.stderr
    assert "upgrade prepared: Strimzi 1.3.0, Kafka 4.3.1" in operator_first.stdout
    stranded = _prepared(
        tmp_path,
        '\n[next.strimzi]\nversion = "1.3.0"\nkafka = { "4.4.0" = "4.4-IV0" }\n'
        '\n[next.kafka]\nversion = "4.4.0"\nmetadata_version = "4.4-IV0"\n',
    )
    assert stranded.returncode == 1
    assert "Strimzi 1.3.0 does not support Kafka 4.3.1, which the cluster runs" in stranded.stdout, stranded.stdout
    unsupported = _prepared(tmp_path, '\n[next.kafka]\nversion = "4.4.0"\nmetadata_version = "4.4-IV0"\n')
    assert unsupported.returncode == 1
    assert "Kafka 4.4.0 is not supported by Strimzi 1.2.0" in unsupported.stdout, unsupported.stdout


def test_the_install_lines_quote_the_pinned_operators():
    pinned = tomllib.loads((ROOT / "deploy" / "versions.toml").read_text())
    strimzi = f"helm install strimzi {pinned['strimzi']['chart']} --version {pinned['strimzi']['version']}"
    operator = pinned["mongodb_operator"]
    mongodb = f"{operator['chart']} --version {operator['version']}"
    for doc in ("README.md", "deploy/README.md", "docs/operations.md"):
        text = (ROOT / doc).read_text()
        assert strimzi in text, f"{doc} does not install Strimzi as pinned: {strimzi}"
        assert mongodb in text, f"{doc} does not install the MongoDB operator as pinned: {mongodb}"
        assert "helm install strimzi" not in text.replace(strimzi, ""), f"{doc} has an unpinned Strimzi install"
