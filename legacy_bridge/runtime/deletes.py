"""``deletes = "send"``: keys deleted at the source become deletes at the target, crash-safe.

A diff-mode source reports the keys it no longer finds on its last batch
(``Checkpoint.deleted_keys``: the keys of its hash table, i.e. the source key columns as
text).  With ``deletes = "send"`` the runner, once that batch is committed *without*
forgetting those keys, works through them in chunks of the target's ``max_batch``:

1. commit the chunk's hashes as ``TOMBSTONE`` (one transaction);
2. ``target.delete(target keys)`` - the target deletes/archives; unknown keys count as done;
3. commit ``deleted_keys = chunk`` (the keys are forgotten) with the rejects of keys the
   target refused for good, in one transaction.

A crash before 3 leaves the keys in the hash table: the next run finds them missing again
and sends the delete again (targets treat an already deleted key as deleted).  The
tombstone covers the row that comes back before that next run: its content hash differs
from ``TOMBSTONE``, so it is sent again as an upsert - even when the target had already
deleted it and the crash only lost the acknowledgement.  A key is forgotten only after the
target acknowledged (or refused) its delete.

The target's key is derived from the source key by the mapping's key: ``deletes = "send"``
needs ``key = [...]`` on the source, and the mapping's key field(s) must be among those
columns (checked before anything is read).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from legacy_bridge.errors import ConfigError, RecordError
from legacy_bridge.mapping import Mapper
from legacy_bridge.records import Checkpoint, Counts, Reject
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.targets.base import Deleter, deleter_of

TOMBSTONE = "deleted:pending"  # a content hash no row can have


@dataclass
class DeletePlan:
    deleter: Deleter
    target_key: Callable[[str], str]  # source key text -> target key (RecordError when impossible)


def plan_deletes(flow_spec: Any, mapper: Mapper, target: object) -> DeletePlan | None:
    """The plan for ``deletes = "send"``, None when the flow only reports deletes; ConfigError
    naming the target kind when the target cannot delete, or the key cannot be derived."""
    source = getattr(flow_spec, "source", None)
    if getattr(source, "deletes", "report") != "send":
        return None
    name, kind = flow_spec.name, getattr(flow_spec.target, "kind", "?")
    deleter = deleter_of(target)
    if deleter is None:
        hint = ("set delete_path (e.g. \"/api/customers/{key}\") on the rest target" if kind == "rest"
                else "use deletes = \"report\", or a target that can delete: hubspot, sql, rest with delete_path")
        raise ConfigError(f"flow {name}: deletes = \"send\", but the {kind} target cannot delete records",
                          hint=hint)
    columns = list(getattr(source, "key", None) or [])
    if not columns:
        raise ConfigError(f"flow {name}: deletes = \"send\" needs key = [...] on the source (the key columns "
                          "whose values make the target's key); it is not taken from the primary key implicitly",
                          hint=f"add key = {json.dumps(mapper.key_fields)} to the source section")
    foreign = [f for f in mapper.key_fields if f not in columns]
    if foreign:
        raise ConfigError(f"flow {name}: deletes = \"send\": the mapping key {', '.join(foreign)} is not among the "
                          f"source key columns {', '.join(columns)}, so a deleted row's target key is unknown",
                          hint="make the mapping key the source key column(s), or use deletes = \"report\"")

    def target_key(text: str) -> str:
        parts = [text] if len(columns) == 1 else json.loads(text)
        if not isinstance(parts, list) or len(parts) != len(columns):
            raise RecordError(f"deleted key {text!r} does not have the {len(columns)} parts of {columns}")
        return mapper.key_of(dict(zip(columns, parts, strict=True)))

    return DeletePlan(deleter, target_key)


def send_deletes(ctx: FlowContext, deletes: DeletePlan, keys: Sequence[str], origin: str) -> Counts:
    """Delete ``keys`` (source key texts) at the target, chunk by chunk, as described above."""
    store, size = ctx.store, max(1, deletes.deleter.max_batch)
    total = Counts()
    done = 0
    for start in range(0, len(keys), size):
        chunk = list(keys[start:start + size])
        store.commit_batch(run_id=ctx.run_id, job=ctx.job, flow=ctx.flow, rejects=[], counts=Counts(),
                           checkpoint=Checkpoint(hashes=[(k, TOMBSTONE) for k in chunk]))
        rejects: list[Reject] = []
        wanted: list[tuple[str, str]] = []  # (source key, target key)
        for key in chunk:
            try:
                wanted.append((key, deletes.target_key(key)))
            except (RecordError, ValueError) as exc:
                rejects.append(_reject(origin, key, None, f"cannot derive the target key: {exc}"))
        retried = 0
        if wanted:
            delivery = deletes.deleter.delete([t for _, t in wanted])
            retried = delivery.retried
            done += len(wanted) - len(delivery.rejected)
            rejects += [_reject(origin, wanted[i][0], wanted[i][1], f"delete refused: {reason}")
                        for i, reason, _ in delivery.rejected]
        counts = Counts(rejected=len(rejects), retried=retried)
        store.commit_batch(run_id=ctx.run_id, job=ctx.job, flow=ctx.flow, rejects=rejects, counts=counts,
                           checkpoint=Checkpoint(deleted_keys=chunk))
        total.add(counts)
        for reject in rejects:
            ctx.log.warning("rejected %s key %s: %s", origin, reject.key, reject.reason)
    ctx.notes["deletes_sent"] = done
    ctx.log.info("deleted %d record(s) at the target for rows deleted at the source", done)
    return total


def _reject(origin: str, source_key: str, target_key: str | None, reason: str) -> Reject:
    return Reject(reason=reason, origin=origin, key=target_key or source_key, stage="target",
                  raw={"deleted_key": source_key})
