"""The deployment manifests describe every service the repository has, correctly wired."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml

from complaints_shared.runtime.nats_permissions import (
    ADMIN,
    DEPLOYMENT_CONFIG,
    DEPLOYMENT_ORGANISATION,
    password_variable,
    secret_name,
)
from complaints_shared.runtime.natsserver import nats_server_binary

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
    assert routes["/api/v1/public/you-said-we-did"] == "learning"  # public pages: each its own
    assert routes["/api/v1/reports"] == "reporting"
    for service in ("intake", "deadlines", "letters", "learning", "reporting"):
        assert routes[f"/api/v1/audit/{service}"] == service  # each service's own trail
    openapi_prefixes = {
        "/"
        + "/".join(
            path.split("/")[
                1 : 5
                if path.startswith(("/api/v1/audit/", "/api/v1/subject-access/", "/api/v1/public/"))
                else 4
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


def test_each_service_connects_to_nats_as_its_own_user() -> None:
    for name, deployment in of_kind("Deployment").items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item for item in container["env"]}
        assert env["COMPLAINTS_NATS_USER"]["value"] == name
        secret = env["COMPLAINTS_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": secret_name(name), "key": "password"}


def test_nats_admits_each_user_with_the_password_from_its_secret() -> None:
    """The generated configuration is valid, and the StatefulSet gives it every password
    it reads, each from the Secret the user's service reads."""
    config = ROOT / DEPLOYMENT_CONFIG
    users = re.findall(r'^\s*user: "([^"]+)"$', config.read_text(), re.MULTILINE)
    assert sorted(users) == sorted([*SERVICES, ADMIN])
    [container] = of_kind("StatefulSet")["nats"]["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"]}
    assert env == {
        password_variable(user): {"name": secret_name(user), "key": "password"} for user in users
    }
    checked = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(config)],
        env={**os.environ, **{variable: "not-the-password" for variable in env}},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_nats_permissions_are_for_the_deployed_organisation_and_scopes() -> None:
    """Consumer names carry the organisation and scope, so the configuration must be
    generated for the organisation the base deploys and cover each overlay's scope."""
    base = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    [config_map] = [g for g in base["configMapGenerator"] if g["name"] == "complaints-config"]
    assert f"COMPLAINTS_ORGANISATION={DEPLOYMENT_ORGANISATION}" in config_map["literals"]
    config = (ROOT / DEPLOYMENT_CONFIG).read_text()
    for overlay in (ROOT / "deploy/kustomize/overlays").glob("*/kustomization.yaml"):
        literals = yaml.safe_load(overlay.read_text())["configMapGenerator"][0]["literals"]
        [scope] = [
            item.split("=", 1)[1] for item in literals if item.startswith("COMPLAINTS_SCOPE=")
        ]
        assert (
            f'"$JS.ACK.COMPLAINTS_CASES.{DEPLOYMENT_ORGANISATION}-deadlines-cases-{scope}.>"'
            in (config)
        )
