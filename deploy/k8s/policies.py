"""What an operator may rely on in every rendered overlay, checked offline:

    python deploy/k8s/policies.py            # render dev and prod, validate, check, print counts
    python deploy/k8s/policies.py --next     # the same for the upgrade prepared in deploy/versions.toml

- every object against the Kubernetes OpenAPI schemas (kubernetes-validate, offline), custom
  resources against the API versions their operators serve;
- the policies below, each a function from the rendered objects to a list of violations; one of
  them holds the Kafka resource to a version the pinned Strimzi supports (`deploy/versions.toml`);
- with `--next`, the manifests rendered for the upgrade prepared there, and the upgrade's order
  (the operator first: the new Strimzi must support the Kafka the cluster still runs).
`tests/deploy/test_manifests.py` runs all of it in `make test`, and breaks a manifest once per
policy to show the policy catches it.
"""

from __future__ import annotations

import argparse
import functools
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from frontline.contracts.registry import REGISTRY  # noqa: E402
from frontline.contracts.topics import TOPICS, dlq_topic  # noqa: E402
from frontline.plumbing.kafka import topic_config  # noqa: E402

K8S = Path(__file__).resolve().parent
sys.path.insert(0, str(K8S))

from generate import VERSIONS, files, pins  # noqa: E402

KUSTOMIZE = ROOT / ".local" / "bin" / "kustomize"
KUBERNETES_VERSION = "1.33.0"  # the oldest version the manifests are for (matchLabelKeys, sleep preStop)
SERVICES = ("intake", "routing", "upsell", "records")
CUSTOM = {
    "kafka.strimzi.io/v1": {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"},
    "mongodbcommunity.mongodb.com/v1": {"MongoDBCommunity"},
}
# A topic a service's code names only to leave it out.
NAMED_NOT_USED = {("records", "CONTACTS_INBOUND")}  # records keeps intake's redacted copy instead
RECOMMENDED = ("app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/component")
Objects = list[dict[str, Any]]
Policy = Callable[[Objects], list[str]]
Pins = dict[str, Any]


def render(overlay: str, k8s: Path = K8S) -> Objects:
    if not KUSTOMIZE.exists():
        raise FileNotFoundError(f"{KUSTOMIZE} is missing: `make kustomize` installs it")
    built = subprocess.run(
        [str(KUSTOMIZE), "build", str(k8s / "overlays" / overlay)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def counts(objects: Objects) -> Counter[str]:
    return Counter(o["kind"] for o in objects)


def schema_errors(objects: Objects) -> list[str]:
    errors = []
    for o in objects:
        where = f"{o['kind']}/{o['metadata']['name']}"
        if o["apiVersion"] in CUSTOM:
            if o["kind"] not in CUSTOM[o["apiVersion"]]:
                errors.append(f"{where}: {o['apiVersion']} serves no {o['kind']}")
            continue
        if o["apiVersion"].startswith(("kafka.strimzi.io/", "mongodbcommunity.")):
            errors.append(f"{where}: {o['apiVersion']} is not served (Strimzi 1.0 serves kafka.strimzi.io/v1)")
            continue
        try:
            kubernetes_validate.validate(o, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{where}: {error.message} at {'/'.join(map(str, error.path))}")
    return errors


# --- policies ------------------------------------------------------------------------------------


def _of(objects: Objects, kind: str) -> Objects:
    return [o for o in objects if o["kind"] == kind]


def _containers(objects: Objects) -> Iterable[tuple[str, dict[str, Any], dict[str, Any]]]:
    for d in _of(objects, "Deployment"):
        pod = d["spec"]["template"]["spec"]
        for c in pod["containers"]:
            yield d["metadata"]["name"], pod, c


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def probes(objects: Objects) -> list[str]:
    """Liveness on /healthz, readiness on /readyz, a startup probe, on the container's named port."""
    out = []
    for name, _, c in _containers(objects):
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
            got = c.get(probe, {}).get("httpGet", {})
            if got.get("path") != path or got.get("port") not in {p["name"] for p in c.get("ports", [])}:
                out.append(f"{name}/{c['name']}: {probe} must GET {path} on a named container port")
    return out


def resources(objects: Objects) -> list[str]:
    out = []
    for name, _, c in _containers(objects):
        given = c.get("resources", {})
        for part in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(given.get(part, {}))
            if missing:
                out.append(f"{name}/{c['name']}: resources.{part} lacks {', '.join(sorted(missing))}")
    return out


def non_root(objects: Objects) -> list[str]:
    wanted = {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
    }
    out = []
    for name, pod, c in _containers(objects):
        context = c.get("securityContext", {})
        for key, value in wanted.items():
            if context.get(key) is not value:
                out.append(f"{name}/{c['name']}: securityContext.{key} must be {str(value).lower()}")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            out.append(f"{name}/{c['name']}: securityContext.capabilities.drop must be [ALL]")
        seccomp = context.get("seccompProfile") or pod.get("securityContext", {}).get("seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            out.append(f"{name}/{c['name']}: seccompProfile must be RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            out.append(f"{name}: automountServiceAccountToken must be false")
    return out


def companions(objects: Objects) -> list[str]:
    """Every Deployment has a Service, a PodDisruptionBudget, an autoscaler and a NetworkPolicy of its own."""
    out = []
    for d in _of(objects, "Deployment"):
        name, labels = d["metadata"]["name"], d["spec"]["template"]["metadata"]["labels"]
        ports = {p["name"] for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        services = [s for s in _of(objects, "Service") if _matches(s["spec"].get("selector", {}), labels)]
        if not services or any(p.get("targetPort") not in ports for s in services for p in s["spec"]["ports"]):
            out.append(f"{name}: needs a Service selecting its pods, targeting a named container port")
        if not any(
            _matches(p["spec"]["selector"].get("matchLabels", {}), labels) for p in _of(objects, "PodDisruptionBudget")
        ):
            out.append(f"{name}: needs a PodDisruptionBudget selecting its pods")
        if not any(h["spec"]["scaleTargetRef"]["name"] == name for h in _of(objects, "HorizontalPodAutoscaler")):
            out.append(f"{name}: needs a HorizontalPodAutoscaler")
        if not any(
            _matches(n["spec"]["podSelector"].get("matchLabels", {}), labels) for n in _of(objects, "NetworkPolicy")
        ):
            out.append(f"{name}: needs a NetworkPolicy selecting its pods")
        if not all(labels.get(k) for k in RECOMMENDED):
            out.append(f"{name}: pods need the labels {', '.join(RECOMMENDED)}")
    return out


def graceful(objects: Objects) -> list[str]:
    """The pod waits out the preStop pause and the service's drain before it is killed."""
    out = []
    config = _config(objects)
    drain = float(config.get("FRONTLINE_SHUTDOWN_GRACE_SECONDS", 20))
    for name, pod, c in _containers(objects):
        pause = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        if pod.get("terminationGracePeriodSeconds", 30) < drain + pause:
            out.append(f"{name}: terminationGracePeriodSeconds must cover preStop ({pause} s) + drain ({drain:g} s)")
    return out


def topics(objects: Objects) -> list[str]:
    """Every registry topic, and every DLQ, is a KafkaTopic with the registry's retention or compaction."""
    declared = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in _of(objects, "KafkaTopic")}
    out = []
    for topic, spec in TOPICS.items():
        for name in [topic.value] if spec.internal else [topic.value, dlq_topic(topic.value)]:
            found = declared.get(name)
            if found is None:
                out.append(f"topic {name}: no KafkaTopic")
                continue
            for key, value in topic_config(name).items():
                if str(found["spec"].get("config", {}).get(key)) != value:
                    out.append(f"topic {name}: {key} must be {value} (the registry's)")
    return out


def acls(objects: Objects) -> list[str]:
    """Each service's KafkaUser may touch the topics its code names, and nothing more than it declares."""
    users = {u["metadata"]["name"]: u for u in _of(objects, "KafkaUser")}
    by_name = {t.name: t.value for t in TOPICS}
    out = []
    for service in SERVICES:
        user = users.get(f"frontline-{service}")
        if user is None:
            out.append(f"{service}: no KafkaUser frontline-{service}")
            continue
        allowed = {
            a["resource"]["name"] for a in user["spec"]["authorization"]["acls"] if a["resource"]["type"] == "topic"
        }
        source = "\n".join(p.read_text() for p in (ROOT / "services" / service).rglob("*.py"))
        for constant in sorted(
            set(re.findall(r"Topic\.([A-Z_]+)", source)) - {c for s, c in NAMED_NOT_USED if s == service}
        ):
            if by_name[constant] not in allowed:
                out.append(f"{service}: its code uses {by_name[constant]} but its KafkaUser may not")
        if user["spec"].get("authentication", {}).get("type") != "scram-sha-512":
            out.append(f"{service}: KafkaUser authentication must be scram-sha-512 (the services' SASL mechanism)")
    return out


def writers(objects: Objects) -> list[str]:
    """Each topic is writable only by its owners: an event topic by the services that own its event
    types (and the integrations' principal where outside systems may write them), a DLQ by the
    services that read its topic, a service's own state by that service."""
    allowed: dict[str, set[str]] = {}
    for event in REGISTRY.values():
        owners = allowed.setdefault(event.topic.value, set())
        owners |= {f"frontline-{event.owner}"} if event.owner else set()
        owners |= {"frontline-integrations"} if event.external else set()
    for topic, spec in TOPICS.items():
        if spec.internal:
            allowed[topic.value] = {"frontline-routing"}  # routing's snapshots: the one internal topic
    users = _of(objects, "KafkaUser")
    for user in users:
        reads = {a["resource"]["name"] for a in user["spec"]["authorization"]["acls"] if "Read" in a["operations"]}
        for topic in reads:
            allowed.setdefault(dlq_topic(topic), set()).add(user["metadata"]["name"])
    out = []
    for user in users:
        name = user["metadata"]["name"]
        for acl in user["spec"]["authorization"]["acls"]:
            topic = acl["resource"]["name"]
            writes = acl["resource"]["type"] == "topic" and "Write" in acl["operations"]
            owned = name in allowed.get(topic, set()) and acl["resource"].get("patternType") == "literal"
            if writes and not owned:
                out.append(f"{name} may write {topic}, which only {sorted(allowed.get(topic, set()))} may")
    return out


def settings_names(objects: Objects) -> list[str]:
    """Every variable given to a service is one of its settings; every container port is the service's."""
    import importlib

    from frontline.plumbing.settings import Settings

    known = {f"FRONTLINE_{n.upper()}" for n in Settings.model_fields} | {"MONGODB_URL", "KAFKA_BOOTSTRAP_SERVERS"}
    out = []
    config = _config(objects)
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.settings")
        own = next(v for k, v in vars(module).items() if k.endswith("Settings") and k != "BaseSettings")
        prefix = own.model_config.get("env_prefix", "")
        names = known | {f"{prefix}{n.upper()}" for n in own.model_fields}
        deployment = next(
            (d for d in _of(objects, "Deployment") if d["metadata"]["name"] == f"frontline-{service}"), None
        )
        if deployment is None:
            out.append(f"{service}: no Deployment frontline-{service}")
            continue
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        given = {e["name"] for e in container.get("env", [])} | set(config)
        for variable in sorted(given - names):
            out.append(f"{service}: {variable} is not a setting of the service")
        port = importlib.import_module(f"services.{service}.app").DEFAULT_PORT
        if [p["containerPort"] for p in container["ports"]] != [port]:
            out.append(f"{service}: containerPort must be {port}, the port it listens on")
    return out


def _config(objects: Objects) -> dict[str, str]:
    found = [c for c in _of(objects, "ConfigMap") if c["metadata"]["name"].startswith("frontline-config")]
    return found[0].get("data", {}) if found else {}


def versions(objects: Objects, pinned: Pins | None = None) -> list[str]:
    """The Kafka resource asks for the pinned Kafka, which the pinned Strimzi supports, at the metadata
    version Strimzi gives it; MongoDB is the pinned version."""
    pinned = pinned or pins()
    strimzi, kafka = pinned["strimzi"], pinned["kafka"]
    supported: dict[str, str] = strimzi["kafka"]
    out = []
    for cluster in _of(objects, "Kafka"):
        name, spec = cluster["metadata"]["name"], cluster["spec"]["kafka"]
        version = spec.get("version")
        if version not in supported:
            out.append(
                f"{name}: Kafka {version} is not supported by Strimzi {strimzi['version']}"
                f" (it supports {', '.join(supported)})"
            )
        elif spec.get("metadataVersion") != supported[version]:
            wrong = spec.get("metadataVersion")
            out.append(f"{name}: Kafka {version} runs metadataVersion {supported[version]}, not {wrong}")
        if version != kafka["version"]:
            out.append(f"{name}: Kafka {version} is not the pinned {kafka['version']} the local broker is tested on")
    for database in _of(objects, "MongoDBCommunity"):
        version = database["spec"].get("version")
        if version != pinned["mongodb"]["version"]:
            out.append(f"{database['metadata']['name']}: MongoDB {version} is not the pinned one")
    return out


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def upgrade_order(current: Pins, prepared: Pins) -> list[str]:
    """Operators move first, then the Kafka they run: the prepared Strimzi must still support the
    Kafka the cluster runs until then, and no version may move backwards (metadata cannot)."""
    out = []
    running, strimzi = current["kafka"]["version"], prepared["strimzi"]
    if running not in strimzi["kafka"]:
        out.append(
            f"Strimzi {strimzi['version']} does not support Kafka {running}, which the cluster runs until it is"
            " upgraded: move Kafka to a version both Strimzi releases support first"
        )
    for part, key in (
        ("strimzi", "version"),
        ("kafka", "version"),
        ("kafka", "metadata_version"),
        ("mongodb_operator", "version"),
        ("mongodb", "version"),
    ):
        before, after = current[part][key], prepared[part][key]
        if _release(after) < _release(before):
            out.append(f"{part} {key} goes back from {before} to {after}")
    return out


def high_availability(objects: Objects) -> list[str]:
    """Production only: at least two replicas, spread over zones or nodes, autoscaling from two."""
    out = []
    for d in _of(objects, "Deployment"):
        name, pod = d["metadata"]["name"], d["spec"]["template"]["spec"]
        if d["spec"].get("replicas", 1) < 2:
            out.append(f"{name}: production needs replicas >= 2")
        if not pod.get("topologySpreadConstraints") and not pod.get("affinity", {}).get("podAntiAffinity"):
            out.append(f"{name}: production needs topology spread or pod anti-affinity")
    for h in _of(objects, "HorizontalPodAutoscaler"):
        if h["spec"].get("minReplicas", 1) < 2:
            out.append(f"{h['metadata']['name']}: production autoscaling needs minReplicas >= 2")
    return out


POLICIES: dict[str, Policy] = {
    "probes": probes,
    "resources": resources,
    "non-root": non_root,
    "companions": companions,
    "graceful shutdown": graceful,
    "topics": topics,
    "acls": acls,
    "writers": writers,
    "settings and ports": settings_names,
    "versions": versions,
}
PRODUCTION: dict[str, Policy] = {"high availability": high_availability}


def check(overlay: str, objects: Objects, pinned: Pins | None = None) -> list[str]:
    policies: dict[str, Policy] = {**POLICIES, "versions": functools.partial(versions, pinned=pinned)}
    policies |= PRODUCTION if overlay == "prod" else {}
    return schema_errors(objects) + [f"[{name}] {v}" for name, policy in policies.items() for v in policy(objects)]


def render_prepared(prepared: Pins, into: Path) -> Path:
    """A copy of the overlays over a base generated with the prepared versions."""
    shutil.copytree(K8S / "overlays", into / "overlays")
    (into / "base").mkdir()
    for name, text in files(prepared).items():
        (into / "base" / name).write_text(text)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--next", action="store_true", help="check the upgrade prepared in the versions' [next]")
    parser.add_argument("--versions", type=Path, default=VERSIONS, help="the versions file (deploy/versions.toml)")
    args = parser.parse_args()
    current = pins(args.versions)
    pinned = pins(args.versions, prepared=args.next)
    order: list[str] = []
    if args.next:
        if pinned == current:
            print(f"no upgrade prepared: {args.versions.name} has no [next] (see docs/operations.md)")
            return 0
        print(
            f"upgrade prepared: Strimzi {pinned['strimzi']['version']}, Kafka {pinned['kafka']['version']},"
            f" MongoDB operator {pinned['mongodb_operator']['version']}, MongoDB {pinned['mongodb']['version']}"
        )
        order = upgrade_order(current, pinned)
        for problem in order:
            print(f"  - [upgrade order] {problem}")
    with tempfile.TemporaryDirectory() as scratch:
        k8s = render_prepared(pinned, Path(scratch)) if args.next else K8S
        return _report(k8s, pinned, failed=bool(order))


def _report(k8s: Path, pinned: Pins, *, failed: bool) -> int:
    for overlay in ("dev", "prod"):
        objects = render(overlay, k8s)
        problems = check(overlay, objects, pinned)
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts(objects).items()))
        print(f"{overlay}: {len(objects)} objects ({kinds})")
        policies = len(POLICIES) + (len(PRODUCTION) if overlay == "prod" else 0)
        found = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        print(f"  schemas (Kubernetes {KUBERNETES_VERSION}) and {policies} policies: {found}")
        for problem in problems:
            print(f"  - {problem}")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
