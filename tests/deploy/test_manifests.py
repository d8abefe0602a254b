"""deploy/: every Kubernetes manifest validates against the Kubernetes OpenAPI schemas (kubernetes-validate),
RayJobs against a vendored RayJob schema with their pod templates validated as Kubernetes PodTemplateSpecs,
and the settings, images and node pools the manifests name are the ones the project has."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is not installed (the dev extra has it)")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")

from moodboard.core.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"  # the oldest minor that EKS still supports as standard at the time of writing
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _docs() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


DOCS = _docs()


def _pod_templates(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates of a workload object."""
    spec = doc.get("spec", {})
    if doc["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}:
        return [spec["template"]]
    if doc["kind"] == "RayJob":
        cluster = spec["rayClusterSpec"]
        return [cluster["headGroupSpec"]["template"], *(g["template"] for g in cluster.get("workerGroupSpecs", []))]
    return []


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for t in _pod_templates(doc) for c in t["spec"]["containers"]]


def test_there_are_manifests_for_api_jobs_rayjobs_and_every_pool() -> None:
    kinds = {d["kind"] for _, d in DOCS}
    assert {"Deployment", "HorizontalPodAutoscaler", "Service", "Job", "RayJob", "PersistentVolumeClaim"} <= kinds
    selectors = [t["spec"].get("nodeSelector", {}) for _, d in DOCS for t in _pod_templates(d)]
    assert any(s.get("kubernetes.io/arch") == "arm64" for s in selectors), "no Graviton (arm64) pool"
    assert any(s.get("nvidia.com/gpu.present") == "true" for s in selectors), "no GPU pool"
    assert any(s.get("node.kubernetes.io/instance-type", "").startswith(("inf2", "trn1")) for s in selectors)
    limits = [c.get("resources", {}).get("limits", {}) for _, d in DOCS for c in _containers(d)]
    assert any("nvidia.com/gpu" in lim for lim in limits) and any("aws.amazon.com/neuron" in lim for lim in limits)


OBJECTS = [(n, d) for n, d in DOCS if d["kind"] != "RayJob"]


@pytest.mark.parametrize(("name", "doc"), OBJECTS, ids=[f"{n}:{d['kind']}/{d['metadata']['name']}" for n, d in OBJECTS])
def test_kubernetes_objects_validate_strictly(name: str, doc: dict[str, Any]) -> None:
    kv.validate(doc, KUBERNETES_VERSION, strict=True)


RAYJOBS = [(n, d) for n, d in DOCS if d["kind"] == "RayJob"]


@pytest.mark.parametrize(("name", "doc"), RAYJOBS, ids=[f"{n}:{d['metadata']['name']}" for n, d in RAYJOBS])
def test_rayjobs_validate_against_the_vendored_schema_and_their_pods_against_kubernetes(
    name: str, doc: dict[str, Any]
) -> None:
    schema = json.loads((K8S / "schemas" / "rayjob-ray.io-v1.json").read_text())
    jsonschema.validate(doc, schema)
    for template in _pod_templates(doc):
        kv.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template},
                    KUBERNETES_VERSION, strict=True)  # fmt: skip
    runtime_env = yaml.safe_load(doc["spec"].get("runtimeEnvYAML", "") or "{}")
    assert runtime_env["env_vars"]["MOODBOARD_JOBS__RUNNER"] == "ray"


def test_a_misspelt_field_is_caught() -> None:
    """Guard against a validator that accepts anything."""
    bad = json.loads(json.dumps(next(d for _, d in DOCS if d["kind"] == "Deployment")))
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, KUBERNETES_VERSION, strict=True)
    ray = json.loads(json.dumps(RAYJOBS[0][1]))
    ray["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replica"] = 2
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(ray, json.loads((K8S / "schemas" / "rayjob-ray.io-v1.json").read_text()))


def _setting_exists(env_name: str) -> bool:
    parts = env_name.removeprefix("MOODBOARD_").lower().split("__")
    fields = Settings.model_fields
    if parts[0] not in fields:
        return False
    if len(parts) == 1:
        return True
    section = fields[parts[0]].annotation
    return len(parts) == 2 and hasattr(section, "model_fields") and parts[1] in section.model_fields  # type: ignore[union-attr]


def _env_names(doc: dict[str, Any]) -> set[str]:
    names = {e["name"] for c in _containers(doc) for e in c.get("env", [])}
    if doc["kind"] == "RayJob":
        names |= set(yaml.safe_load(doc["spec"].get("runtimeEnvYAML", "") or "{}").get("env_vars", {}))
    return {n for n in names if n.startswith("MOODBOARD_")}


def test_every_moodboard_variable_in_the_manifests_is_a_setting() -> None:
    names = {n for _, d in DOCS for n in _env_names(d)}
    if "jobs" not in Settings.model_fields:
        names = {n for n in names if not n.startswith("MOODBOARD_JOBS__")}  # the Ray runner's settings: issue 15
    unknown = sorted(n for n in names if not _setting_exists(n))
    assert not unknown, f"not settings: {unknown}"


def test_images_carry_the_project_version() -> None:
    for _, doc in DOCS:
        for c in _containers(doc):
            repo, tag = c["image"].rsplit(":", 1)
            assert repo == "ghcr.io/moodboard/moodboard" and tag.split("-")[0] == VERSION, c["image"]
