"""Find, read and validate job files; every problem is reported at once with its key path."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from legacy_bridge.config.models import JobBase, job_model
from legacy_bridge.config.refs import key_path, resolve_refs
from legacy_bridge.errors import ConfigError


@dataclass(frozen=True)
class LoadedJob:
    spec: Any  # a JobSpec (built from the registries; see config.models.job_model)
    path: Path
    base_dir: Path  # the project folder: relative paths in the job file start here
    raw: dict[str, Any]  # the file as written, references unresolved (for docs and catalogs)

    @property
    def name(self) -> str:
        return str(self.spec.name)

    def flow(self, name: str) -> Any:
        for flow in self.spec.flows:
            if flow.name == name:
                return flow
        known = ", ".join(f.name for f in self.spec.flows)
        raise ConfigError(f"job {self.name} has no flow {name!r}; its flows: {known}")


def jobs_dir(start: Path | None = None) -> Path:
    """``$LEGACY_BRIDGE_JOBS`` or ``./jobs``."""
    env = os.environ.get("LEGACY_BRIDGE_JOBS")
    return Path(env) if env else (start or Path.cwd()) / "jobs"


def find_job_file(ref: str) -> Path:
    """A job by file stem (``erp_to_crm``, looked up in the jobs folder) or by path."""
    candidate = Path(ref)
    if candidate.suffix == ".toml" or os.sep in ref or "/" in ref:
        if candidate.is_file():
            return candidate.resolve()
        raise ConfigError(f"no job file at {ref}", hint="check the path, or name a job by its file stem")
    folder = jobs_dir()
    path = folder / f"{ref}.toml"
    if path.is_file():
        return path.resolve()
    known = sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []
    raise ConfigError(
        f"no job named {ref!r} in {folder}",
        hint=f"known jobs: {', '.join(known)}" if known else "create jobs/<name>.toml or pass a path",
    )


def all_job_files() -> list[Path]:
    folder = jobs_dir()
    return sorted(p.resolve() for p in folder.glob("*.toml")) if folder.is_dir() else []


def _strip_tags(loc: tuple[Any, ...], raw: Any) -> tuple[Any, ...]:
    """Drop the union tags pydantic puts into locations ('target', 'hubspot', 'batch_size')."""
    out: list[Any] = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue  # a discriminator tag, not a key the user wrote
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _message(error: Any) -> str:
    msg = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        return "unknown key (not allowed here; check the spelling)"
    if error.get("type") == "missing":
        return "missing (required)"
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg[:1].lower() + msg[1:]


def validation_problems(exc: ValidationError, raw: Any) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = _strip_tags(tuple(error["loc"]), raw)
        problems.append(f"{key_path(loc)}: {_message(error)}")
    return problems


def load_job(ref: str | Path, *, resolve_secrets: bool = True) -> LoadedJob:
    """Load and validate a job file; raise ``ConfigError`` listing every problem."""
    path = find_job_file(str(ref))
    base_dir = path.parent.parent if path.parent.name == "jobs" else path.parent
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read job file {path}: {exc}") from exc
    problems: list[str] = []
    data = resolve_refs(raw, base_dir, problems) if resolve_secrets else raw
    spec: JobBase | None = None
    try:
        spec = job_model().model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, data))
    if spec is not None:
        problems.extend(_cross_checks(spec))
    if problems:
        raise ConfigError(
            f"job file {path} has {len(problems)} problem{'s' if len(problems) > 1 else ''}",
            problems=problems,
        )
    assert spec is not None
    return LoadedJob(spec=spec, path=path, base_dir=base_dir, raw=raw)


def _cross_checks(spec: Any) -> list[str]:
    """Checks that span sections (each plugin may add its own via ``cross_check``)."""
    problems: list[str] = []
    for i, flow in enumerate(spec.flows):
        for section in ("source", "target"):
            check = getattr(getattr(flow, section), "cross_check", None)
            if callable(check):
                problems.extend(f"flows[{i}].{section}.{p}" for p in check(flow))
    return problems
