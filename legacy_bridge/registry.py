"""Registries keyed by the ``kind`` in a job file.

Each plugin module defines a frozen pydantic config model with ``kind: Literal["..."]``
and a factory that builds the implementation from that config.  A package's
``__init__`` lists its plugins in one ``Registry``: adding a transport, a format or
a target is one new module and one line there.  Heavy optional dependencies are
imported inside the plugin's implementation, never at module import, so a missing
extra breaks only that plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

from legacy_bridge.errors import ConfigError

T = TypeVar("T")


class Spec(BaseModel):
    """Base of every job-file model: frozen, unknown keys forbidden."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Plugin(Generic[T]):
    kind: str
    config: type[Spec]
    factory: Callable[..., T]
    summary: str = ""


class Registry(Generic[T]):
    def __init__(self, what: str, plugins: Iterable[Plugin[T]]) -> None:
        self.what = what
        self._plugins: dict[str, Plugin[T]] = {}
        for plugin in plugins:
            if plugin.kind in self._plugins:
                raise ValueError(f"two {what} plugins named {plugin.kind!r}")
            self._plugins[plugin.kind] = plugin

    def kinds(self) -> list[str]:
        return sorted(self._plugins)

    def get(self, kind: str) -> Plugin[T]:
        try:
            return self._plugins[kind]
        except KeyError:
            raise ConfigError(
                f"unknown {self.what} kind {kind!r}; known kinds: {', '.join(self.kinds())}"
            ) from None

    def build(self, spec: Spec, *args: Any, **kwargs: Any) -> T:
        kind = getattr(spec, "kind")  # noqa: B009 - every plugin spec has one
        return self.get(kind).factory(spec, *args, **kwargs)

    def spec_type(self) -> Any:
        """The pydantic type accepting any registered config, chosen by ``kind``."""
        models = [p.config for p in self._plugins.values()]
        if len(models) == 1:
            return models[0]
        return Annotated[Union[tuple(models)], Field(discriminator="kind")]  # noqa: UP007
