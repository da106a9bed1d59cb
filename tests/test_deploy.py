"""The deployment manifests describe every service the repository has, correctly wired."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "deploy" / "kustomize" / "base"
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


def documents() -> list[dict]:
    found = []
    for path in sorted(BASE.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def of_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in documents() if doc.get("kind") == kind}


def test_every_listed_resource_exists() -> None:
    for kustomization in (ROOT / "deploy" / "kustomize").rglob("kustomization.yaml"):
        listed = yaml.safe_load(kustomization.read_text()).get("resources", [])
        for resource in listed:
            assert (kustomization.parent / resource).exists(), f"{kustomization}: {resource}"


def test_each_service_runs_with_probes_and_its_servers() -> None:
    assert SERVICES == ["deadlines", "intake", "learning", "letters", "reporting"]
    deployments = of_kind("Deployment")
    assert set(deployments) == set(SERVICES), "a service without a Deployment, or vice versa"
    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item for item in container["env"]}
        assert env["COMPLAINTS_SERVICE"]["value"] == name
        assert env["COMPLAINTS_NATS_URL"]["value"] == "nats://nats:4222"
        assert env["COMPLAINTS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "url"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        rolling = deployment["spec"]["strategy"]["rollingUpdate"]
        assert rolling["maxUnavailable"] == 0
        assert name in of_kind("Service")


def test_the_ingress_sends_each_prefix_to_its_service() -> None:
    [ingress] = of_kind("Ingress").values()
    routes = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert routes["/api/v1/complaints"] == "intake"
    assert routes["/api/v1/deadlines"] == "deadlines"
    assert routes["/api/v1/letters"] == "letters"
    assert routes["/api/v1/learning-actions"] == "learning"
    assert routes["/api/v1/reports"] == "reporting"
    for service in ("intake", "deadlines", "letters", "learning", "reporting"):
        assert routes[f"/api/v1/audit/{service}"] == service  # each service's own trail
    openapi_prefixes = {
        "/"
        + "/".join(
            path.split("/")[
                1 : 5 if path.startswith(("/api/v1/audit/", "/api/v1/subject-access/")) else 4
            ]
        )
        for path in json.loads((ROOT / "docs/api/openapi.json").read_text())["paths"]
        if path.startswith("/api/")
    }
    assert openapi_prefixes <= set(routes), "an API prefix the ingress does not route"


def test_the_image_runs_the_named_service_and_nats_fsyncs() -> None:
    dockerfile = (ROOT / "deploy/docker/Dockerfile").read_text()
    assert 'complaints run \\"$COMPLAINTS_SERVICE\\"' in dockerfile
    assert "ARG SERVICE" in dockerfile
    assert "sync_interval: always" in (ROOT / "deploy/nats/nats-server.conf").read_text()
    overlay = yaml.safe_load(
        (ROOT / "deploy/kustomize/overlays/childrens/kustomization.yaml").read_text()
    )
    literals = overlay["configMapGenerator"][0]["literals"]
    assert "COMPLAINTS_SCOPE=childrens" in literals
