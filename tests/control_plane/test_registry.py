"""Module registry: JSON Schema, seeds, publishing (all problems listed, immutable versions), listing."""

from __future__ import annotations

import copy
import random
from importlib import resources

import pytest
import yaml
from jsonschema import Draft202012Validator

from control_plane.registry.semver import in_range, parse_range, parse_version
from control_plane.registry.service import seed_manifest_files
from tests.control_plane.conftest import uid

SCHEMA = resources.files("control_plane.registry") / "module-manifest.schema.json"
MODULES = resources.files("lakehouse.partner_central") / "modules"
SEEDS = {
    "partner-central-connector",
    "partner-central-silver",
    "partner-central-gold",
    "partner-central-dashboards",
    "agent-advisor",
    "agent-ops",
    "agent-support",
    "agent-doc",
}


def _canonical() -> dict:
    return yaml.safe_load((MODULES / "partner-central-connector.yaml").read_text())


def test_the_canonical_example_and_seeds_are_valid_against_the_json_schema():
    schema = yaml.safe_load(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    paths = seed_manifest_files()
    assert sorted(p.name.removesuffix(".yaml") for p in paths) == sorted(SEEDS)
    for path in paths:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path.name, [e.message for e in errors])


def test_the_registry_is_seeded_with_the_existing_modules(client, admin):
    modules = client.get("/registry/modules", headers=admin).json()
    names = {m["name"] for m in modules if m["published_by"] == "system"}
    assert names == SEEDS
    gold = client.get("/registry/modules/partner-central-gold/versions/1.0.0", headers=admin).json()
    assert gold["manifest"]["dependencies"] == [{"name": "partner-central-silver", "version": "^1.0.0"}]
    assert gold["module_type"] == "pipeline"


def _manifest(name: str, version: str = "1.0.0", **changes) -> dict:
    manifest = copy.deepcopy(_canonical())
    manifest.update(name=name, version=version, **changes)
    return manifest


def test_publish_then_identical_republish_is_a_no_op_and_changed_content_is_refused(client, admin):
    name = f"mod-{uid()}"
    first = client.post("/registry/modules", json=_manifest(name), headers=admin)
    assert first.status_code == 201 and first.json()["version"] == "1.0.0"
    again = client.post("/registry/modules", json=_manifest(name), headers=admin)
    assert again.status_code == 200 and again.json()["digest"] == first.json()["digest"]
    changed = client.post("/registry/modules", json=_manifest(name, description="different"), headers=admin)
    assert changed.status_code == 409
    assert (
        client.get(f"/registry/modules/{name}/versions/1.0.0", headers=admin).json()["manifest"][
            "description"
        ]
        == _canonical()["description"]
    )


def test_an_invalid_manifest_is_refused_with_every_problem_listed(client, admin):
    bad = _manifest(f"mod-{uid()}", version="1.0", type="widget")
    del bad["owner"]
    bad["entities"]["produces"].append("gold")
    bad["dependencies"] = [
        {"name": "partner-central-gold", "version": "^9.0.0"},
        {"name": "not-published", "version": "^1"},
        {"name": "partner-central-silver", "version": "~~1"},
    ]
    resp = client.post("/registry/modules", json=bad, headers=admin)
    assert resp.status_code == 422
    problems = {(tuple(p["loc"]), p["msg"].split(":")[0][:40]) for p in resp.json()["problems"]}
    locs = sorted(tuple(p["loc"]) for p in resp.json()["problems"])
    assert locs == sorted(
        [
            ("body",),  # owner missing
            ("body", "dependencies", 0, "version"),
            ("body", "dependencies", 1, "name"),
            ("body", "dependencies", 2, "version"),
            ("body", "entities", "produces", 3),
            ("body", "type"),
            ("body", "version"),
        ]
    ), problems
    assert resp.json()["detail"] == "the manifest has 7 problem(s)"


def test_dependency_ranges_resolve_against_published_versions(client, admin):
    base = f"lib-{uid()}"
    for version in ("1.0.0", "1.4.2", "2.0.0"):
        assert (
            client.post("/registry/modules", json=_manifest(base, version), headers=admin).status_code == 201
        )
    ok = _manifest(f"app-{uid()}", dependencies=[{"name": base, "version": ">=1.2.0 <2.0.0"}])
    assert client.post("/registry/modules", json=ok, headers=admin).status_code == 201
    none = _manifest(f"app-{uid()}", dependencies=[{"name": base, "version": "~1.5"}])
    resp = client.post("/registry/modules", json=none, headers=admin)
    assert resp.status_code == 422
    assert resp.json()["problems"][0]["msg"] == (
        f"no published version of {base!r} satisfies '~1.5' (published: 1.0.0, 1.4.2, 2.0.0)"
    )
    latest = client.get(f"/registry/modules?name={base}&latest=true", headers=admin).json()
    assert [m["version"] for m in latest] == ["2.0.0"]
    every = client.get(f"/registry/modules?name={base}", headers=admin).json()
    assert [m["version"] for m in every] == ["2.0.0", "1.4.2", "1.0.0"]


def test_listing_filters(client, admin):
    dashboards = client.get("/registry/modules?type=dashboard", headers=admin).json()
    assert "partner-central-dashboards" in {m["name"] for m in dashboards}
    assert all(m["module_type"] == "dashboard" for m in dashboards)
    producers = client.get("/registry/modules?produces=silver.opportunity", headers=admin).json()
    assert {m["name"] for m in producers} == {"partner-central-silver"}
    consumers = client.get(
        "/registry/modules?consumes=gold.ace_pipeline&tenant_kind=org", headers=admin
    ).json()
    assert {m["name"] for m in consumers} == {"partner-central-dashboards"}
    assert client.get("/registry/modules/nope/versions/1.0.0", headers=admin).status_code == 404


def test_only_platform_admins_publish(client, admin, tree):
    resp = client.post("/registry/modules", json=_manifest(f"m-{uid()}"), headers=tree.h("enterprise"))
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "text,version,expected",
    [
        ("^1.2.3", "1.9.9", True),
        ("^1.2.3", "2.0.0", False),
        ("^0.2.3", "0.2.9", True),
        ("^0.2.3", "0.3.0", False),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.3.0", False),
        (">=1.0.0 <2.0.0", "1.99.0", True),
        ("1.x", "1.7.0", True),
        ("1.x", "2.0.0", False),
        ("*", "0.0.1", True),
        ("*", "1.0.0-rc.1", False),
        (">=1.0.0-rc.1", "1.0.0-rc.2", True),
        ("<1.2 || >=3", "3.0.0", True),
        ("<1.2 || >=3", "2.0.0", False),
        ("=1.2.3", "1.2.3+build.5", True),
        ("^0.0.3", "0.0.3", True),
        ("^0.0.3", "0.0.4", False),
        ("^0.x", "0.9.0", True),
        ("^0.x", "1.0.0", False),
        ("~1.2", "1.2.9", True),
        ("~1.2", "1.3.0", False),
        ("~1", "1.9.0", True),
        (">1.2", "1.3.0", True),
        (">1.2", "1.2.9", False),
        ("<=1.2", "1.2.9", True),
        ("<=1.2", "1.3.0", False),
        ("1.2.3 - 2.3.4", "2.3.4", True),
        ("1.2.3 - 2.3.4", "2.3.5", False),
        ("1.2.3 - 2.3.4", "1.2.2", False),
        ("^1.2.3-beta.2", "1.2.3-beta.4", True),
        ("^1.2.3-beta.2", "1.2.4-beta.1", False),
        ("^1.2.3-beta.2", "1.2.3-alpha.9", False),
        (">= 1.0.0 < 2.0.0", "1.5.0", True),
        ("1.x || >=2.5.0", "2.4.0", False),
        ("1.x || >=2.5.0", "2.5.0", True),
    ],
)
def test_ranges(text, version, expected):
    assert in_range(parse_version(version), parse_range(text)) is expected


@pytest.mark.parametrize("text", ["", "   ", "one", ">=1.0.0 <", "^^1.2", "1.2.3.4"])
def test_unreadable_ranges_are_refused_naming_the_text(text):
    with pytest.raises(ValueError, match="version range"):
        parse_range(text)


def test_version_ordering_follows_semver():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    shuffled = random.Random(0).sample(ordered, len(ordered))
    assert shuffled != ordered
    assert sorted(shuffled, key=parse_version) == ordered
    for bad in ("1.0", "01.0.0", "1.0.0-", "v1.0.0"):
        with pytest.raises(ValueError):
            parse_version(bad)
