"""Validate, publish and list module manifests."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.audit.service import Actor, canonical, digest
from control_plane.audit.service import record as audit_record
from control_plane.db import utcnow
from control_plane.errors import Conflict, Invalid
from control_plane.registry.models import ModuleVersion
from control_plane.registry.semver import in_range, parse_range, parse_version

# Package data, read with importlib.resources so an installed wheel finds them: the JSON Schema beside this
# module, the seed manifests beside the domain they describe.
SCHEMA_RESOURCE = resources.files("control_plane.registry") / "module-manifest.schema.json"
SEED_PACKAGES: tuple[str, ...] = ("lakehouse.partner_central", "lakehouse.agents")
SEED_FOLDER = "modules"


@lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    """The manifest JSON Schema (control_plane/registry/module-manifest.schema.json)."""
    schema: dict[str, Any] = json.loads(SCHEMA_RESOURCE.read_text())
    return schema


def openapi_manifest_schema() -> dict[str, Any]:
    """The manifest schema with its local ``$ref``s inlined, for embedding in the OpenAPI document."""
    schema = manifest_schema()
    defs = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items() if k not in ("$schema", "$id", "$defs")}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(manifest_schema())


def _loc(path: Any) -> list[Any]:
    return ["body", *list(path)]


def validate(db: Session, manifest: Any) -> list[dict[str, Any]]:
    """Every problem of a manifest: schema violations, bad versions/ranges, unresolvable dependencies."""
    problems = [
        {"loc": _loc(err.absolute_path), "msg": err.message}
        for err in sorted(_validator().iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if not isinstance(manifest, dict):
        return problems
    version = manifest.get("version")
    if isinstance(version, str):
        try:
            parse_version(version)
        except ValueError as exc:
            problems.append({"loc": ["body", "version"], "msg": str(exc)})
    deps = manifest.get("dependencies")
    if isinstance(deps, list):
        seen: set[str] = set()
        for i, dep in enumerate(deps):
            if (
                not isinstance(dep, dict)
                or not isinstance(dep.get("name"), str)
                or not isinstance(dep.get("version"), str)
            ):
                continue  # already reported by the schema
            name = dep["name"]
            if name == manifest.get("name"):
                problems.append(
                    {"loc": ["body", "dependencies", i, "name"], "msg": "a module cannot depend on itself"}
                )
                continue
            if name in seen:
                problems.append(
                    {"loc": ["body", "dependencies", i, "name"], "msg": f"duplicate dependency {name!r}"}
                )
            seen.add(name)
            try:
                wanted = parse_range(dep["version"])
            except ValueError as exc:
                problems.append({"loc": ["body", "dependencies", i, "version"], "msg": str(exc)})
                continue
            published = [
                parse_version(v)
                for v in db.execute(select(ModuleVersion.version).where(ModuleVersion.name == name)).scalars()
            ]
            if not published:
                problems.append(
                    {"loc": ["body", "dependencies", i, "name"], "msg": f"module {name!r} is not published"}
                )
            elif not any(in_range(v, wanted) for v in published):
                problems.append(
                    {
                        "loc": ["body", "dependencies", i, "version"],
                        "msg": f"no published version of {name!r} satisfies {dep['version']!r} "
                        f"(published: {', '.join(sorted(map(str, published)))})",
                    }
                )
    problems += _agent_problems(manifest)
    entities = manifest.get("entities")
    if (
        isinstance(entities, dict)
        and isinstance(entities.get("produces"), list)
        and isinstance(entities.get("consumes"), list)
    ):
        both = sorted(set(map(str, entities["produces"])) & set(map(str, entities["consumes"])))
        if both:
            problems.append(
                {"loc": ["body", "entities"], "msg": f"produces and consumes the same tables: {both}"}
            )
    return problems


def _agent_problems(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """An ``agent`` module carries an ``agent`` section (its prompt and tools), and only agent modules do; an
    approved prompt names its approver and the prompt version is a semantic version."""
    section = manifest.get("agent")
    if manifest.get("type") != "agent":
        if section is not None:
            return [{"loc": ["body", "agent"], "msg": "only modules of type agent have an agent section"}]
        return []
    if not isinstance(section, dict):
        return [
            {"loc": ["body", "agent"], "msg": "a module of type agent needs an agent section (prompt, tools)"}
        ]
    prompt = section.get("prompt")
    if not isinstance(prompt, dict):
        return []  # reported by the schema
    problems: list[dict[str, Any]] = []
    if isinstance(prompt.get("version"), str):
        try:
            parse_version(prompt["version"])
        except ValueError as exc:
            problems.append({"loc": ["body", "agent", "prompt", "version"], "msg": str(exc)})
    approval = prompt.get("approval")
    if (
        isinstance(approval, dict)
        and approval.get("status") == "approved"
        and not approval.get("approved_by")
    ):
        problems.append(
            {"loc": ["body", "agent", "prompt", "approval"], "msg": "an approved prompt names its approver"}
        )
    return problems


def publish(
    db: Session, manifest: Any, *, actor: Actor, reason: str | None, request_id: str | None
) -> tuple[ModuleVersion, bool]:
    """Publish one version; returns (row, created). Same content again is a no-op; changed content is refused."""
    problems = validate(db, manifest)
    if problems:
        raise Invalid(f"the manifest has {len(problems)} problem(s)", problems=problems)
    name, version_text = manifest["name"], manifest["version"]
    version = parse_version(version_text)
    content_digest = digest(manifest)
    existing = db.get(ModuleVersion, (name, version_text))
    if existing is not None:
        if existing.digest == content_digest:
            return existing, False
        raise Conflict(
            f"{name} {version_text} is already published with different content; publish a new version"
        )
    row = ModuleVersion(
        name=name,
        version=version_text,
        module_type=manifest["type"],
        major=version.major,
        minor=version.minor,
        patch=version.patch,
        prerelease=".".join(version.prerelease),
        manifest=json.loads(canonical(manifest)),
        digest=content_digest,
        published_at=utcnow(),
        published_by=actor.subject,
    )
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise Conflict(f"{name} {version_text} was published concurrently; read it back") from None
    audit_record(
        db,
        actor=actor,
        action="module.publish",
        tenant_id=None,
        resource=f"module/{name}/{version_text}",
        reason=reason,
        request_id=request_id,
        after={"name": name, "version": version_text, "digest": content_digest},
    )
    db.commit()
    return row, True


def list_modules(
    db: Session,
    *,
    name: str | None = None,
    module_type: str | None = None,
    produces: str | None = None,
    consumes: str | None = None,
    isolation_mode: str | None = None,
    tenant_kind: str | None = None,
    latest: bool = False,
) -> list[ModuleVersion]:
    """Published versions matching every given filter, by name then newest version first."""
    query = select(ModuleVersion)
    if name:
        query = query.where(ModuleVersion.name == name)
    if module_type:
        query = query.where(ModuleVersion.module_type == module_type)
    rows = list(db.execute(query).scalars())

    def keep(row: ModuleVersion) -> bool:
        m = row.manifest
        if produces and produces not in m["entities"]["produces"]:
            return False
        if consumes and consumes not in m["entities"]["consumes"]:
            return False
        if isolation_mode and isolation_mode not in m["tenancy"]["isolation_modes"]:
            return False
        return not (tenant_kind and tenant_kind not in m["tenancy"]["tenant_kinds"])

    rows = [r for r in rows if keep(r)]
    rows.sort(key=lambda r: parse_version(r.version), reverse=True)
    rows.sort(key=lambda r: r.name)  # stable: by name, newest version first within a name
    if latest:
        newest: dict[str, ModuleVersion] = {}
        for row in rows:
            newest.setdefault(row.name, row)
        rows = list(newest.values())
    return rows


def seed_manifest_files() -> list[Traversable]:
    """The seed manifest files shipped as package data, sorted by package and file name."""
    return [
        entry
        for package in SEED_PACKAGES
        for entry in sorted((resources.files(package) / SEED_FOLDER).iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    ]


def seed_manifests() -> list[dict[str, Any]]:
    """The seed manifests (``modules/*.yaml`` of each seed package), dependencies first."""
    import yaml

    manifests = [yaml.safe_load(p.read_text()) for p in seed_manifest_files()]
    ordered: list[dict[str, Any]] = []
    names = {m["name"] for m in manifests}
    pending = list(manifests)
    while pending:
        ready = [
            m
            for m in pending
            if all(
                d["name"] not in names or d["name"] in {o["name"] for o in ordered}
                for d in m.get("dependencies", [])
            )
        ]
        if not ready:
            raise ValueError(f"seed manifests have a dependency cycle: {[m['name'] for m in pending]}")
        ordered.extend(ready)
        pending = [m for m in pending if m not in ready]
    return ordered


def seed(db: Session, actor: Actor) -> list[str]:
    """Publish every seed manifest not yet published (platform scope); returns what was published."""
    published = []
    for manifest in seed_manifests():
        row, created = publish(db, manifest, actor=actor, reason="registry seed", request_id=None)
        if created:
            published.append(f"{row.name}@{row.version}")
    return published
