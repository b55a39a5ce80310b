"""The signed archive format: a header, the records with their hashes, signed checkpoints.

```
{"archive": {format, version, archive_id, exported_at, crisis_id, public_key, key_id,
             checkpoint_every}, "signature": …}
{"position": 1, "hash": "<the record's hash>", …the stored event…}
…
{"checkpoint": {archive_id, crisis_id, crisis_seq, position, hash, last, signed_at, key_id},
 "signature": …}                      every CHECKPOINT_EVERY records of a crisis, and `last`
                                      after its last record, at the end of the archive
{"end": {archive_id, records, crises, signed_at, key_id}, "signature": …}
```

A record hashed before migration 0007 (over its payload only) carries `payload_hash` instead
of `hash`. Each record's hash is the one the log stores, and the one an import into an empty
log stores again: `check_archive` recomputes it from the line, as the importer would store the
record, chained on the line before it of the same crisis.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from services.eventlog.archive_key import SigningKey, key_id, signature_holds
from services.eventlog.core import GENESIS_HASH, MAIN_COURANTE_ENTRY, Decoded
from services.eventlog.hashing import chain_hash, event_columns, payload_only_hash
from services.runtime.streams import instant_text

FORMAT = "crisis-cell/archive"
VERSION = 2
CHECKPOINT_EVERY = 1000
CONTROL_KEYS = ("archive", "checkpoint", "end")
HASH_KEYS = ("hash", "payload_hash")


def _now() -> str:
    return instant_text(datetime.now(UTC))


def record_line(position: int, record_hash: str, payload: str, *, payload_only: bool) -> bytes:
    """One record of a signed archive: its position and hash first, then the stored event."""
    key = b"payload_hash" if payload_only else b"hash"
    return b'{"position":%d,"%s":"%s",%s\n' % (
        position,
        key,
        record_hash.encode(),
        payload[1:].encode(),
    )


@dataclass(slots=True)
class _Chain:
    """Where one crisis' chain stands in an archive being written or read."""

    crisis_seq: int = 0
    hash: str = GENESIS_HASH
    position: int = 0
    mc_number: int = 0
    closed: bool = False


class SealedWriter:
    """Writes a signed archive: `header`, then `record` for each record in position order, then
    `finish`."""

    def __init__(self, out: IO[bytes], key: SigningKey, *, every: int = CHECKPOINT_EVERY) -> None:
        self.out = out
        self.key = key
        self.every = every
        self.archive_id = str(uuid.uuid4())
        self.chains: dict[str, _Chain] = {}
        self.records = 0

    def _signed(self, kind: str, body: dict[str, Any]) -> bytes:
        return orjson.dumps({kind: body, "signature": self.key.sign(kind, body)}) + b"\n"

    def header(self, crisis_id: str | None) -> None:
        """The first line: what the archive is and the key that signs it."""
        body = {
            "format": FORMAT,
            "version": VERSION,
            "archive_id": self.archive_id,
            "exported_at": _now(),
            "crisis_id": crisis_id,
            "public_key": _b64(self.key.public),
            "key_id": self.key.key_id,
            "checkpoint_every": self.every,
        }
        self.out.write(self._signed("archive", body))

    def records_of(
        self, rows: Iterable[tuple[int, str, int, str, str]], payload_only: dict[str, int]
    ) -> None:
        """Write `(position, crisis_id, crisis_seq, hash, payload)` rows, with a checkpoint after
        every `every` records of a crisis. `payload_only`: each crisis' last record hashed over
        its payload only."""
        lines = []
        for position, crisis_id, seq, record_hash, payload in rows:
            chain = self.chains.setdefault(crisis_id, _Chain())
            legacy = seq <= payload_only.get(crisis_id, 0)
            lines.append(record_line(position, record_hash, payload, payload_only=legacy))
            chain.crisis_seq, chain.hash, chain.position = seq, record_hash, position
            self.records += 1
            if seq % self.every == 0:
                lines.append(self._checkpoint(crisis_id, chain, last=False))
        self.out.write(b"".join(lines))

    def _checkpoint(self, crisis_id: str, chain: _Chain, *, last: bool) -> bytes:
        return self._signed(
            "checkpoint",
            {
                "archive_id": self.archive_id,
                "crisis_id": crisis_id,
                "crisis_seq": chain.crisis_seq,
                "position": chain.position,
                "hash": chain.hash,
                "last": last,
                "signed_at": _now(),
                "key_id": self.key.key_id,
            },
        )

    def finish(self) -> None:
        """The last checkpoint of each crisis, then the end line."""
        for crisis_id, chain in self.chains.items():
            self.out.write(self._checkpoint(crisis_id, chain, last=True))
        body = {
            "archive_id": self.archive_id,
            "records": self.records,
            "crises": len(self.chains),
            "signed_at": _now(),
            "key_id": self.key.key_id,
        }
        self.out.write(self._signed("end", body))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# -- checking ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArchiveFault:
    """The first line of an archive that does not verify, and why."""

    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


@dataclass(slots=True)
class ArchiveCheck:
    """What checking an archive found: signed or not, what it holds, its first fault."""

    signed: bool = False
    records: int = 0
    crises: int = 0
    key_id: str | None = None
    exported_at: str | None = None
    fault: ArchiveFault | None = None
    # The crises of an unsigned archive, counted as its lines are read.
    crisis_ids: set[str] = field(default_factory=set)


@dataclass(slots=True)
class ArchiveChecker:
    """Checks a signed archive line by line (`line`), then its end (`close`)."""

    public: bytes
    archive_id: str
    key_id: str
    chains: dict[str, _Chain] = field(default_factory=dict)
    records: int = 0
    last_position: int = 0
    ended: bool = False

    def control(self, kind: str, data: dict[str, Any]) -> str | None:
        body = data.get(kind)
        if not isinstance(body, dict) or set(data) != {kind, "signature"}:
            return f"a malformed {kind} line"
        if not signature_holds(self.public, kind, body, data["signature"]):
            return (
                f"the signature of this {kind} line does not verify "
                "(changed, or signed by another key)"
            )
        if body.get("archive_id") != self.archive_id or body.get("key_id") != self.key_id:
            return f"this {kind} line belongs to another archive or key"
        if kind == "archive":
            return "a second header"
        if kind == "checkpoint":
            return self._checkpoint(body)
        return self._end(body)

    def _checkpoint(self, body: dict[str, Any]) -> str | None:
        crisis_id = body.get("crisis_id")
        chain = self.chains.get(crisis_id) if isinstance(crisis_id, str) else None
        if chain is None or chain.closed:
            return f"a checkpoint of crisis {crisis_id!r}, which no record before it opened"
        said = (body.get("crisis_seq"), body.get("hash"), body.get("position"))
        if said != (chain.crisis_seq, chain.hash, chain.position):
            return (
                f"the checkpoint of crisis {crisis_id} signs record {said[0]} "
                f"(position {said[2]}), but the lines before it end at record "
                f"{chain.crisis_seq} (position {chain.position}) with another hash: records "
                "were removed, added or changed"
            )
        chain.closed = body.get("last") is True
        return None

    def _end(self, body: dict[str, Any]) -> str | None:
        open_chains = [c for c, chain in self.chains.items() if not chain.closed]
        if open_chains:
            return f"no last checkpoint for crisis {open_chains[0]}: its last records were removed"
        said = (body.get("records"), body.get("crises"))
        if said != (self.records, len(self.chains)):
            return (
                f"the end line signs {said[0]} records of {said[1]} crises, the archive holds "
                f"{self.records} of {len(self.chains)}: lines were removed or added"
            )
        self.ended = True
        return None

    def record(self, decoded: Decoded, claimed: str, *, payload_only: bool) -> str | None:
        event, position = decoded.event, decoded.delivery.position
        chain = self.chains.setdefault(event.crisis_id, _Chain())
        seq = chain.crisis_seq + 1
        where = f"record {seq} of crisis {event.crisis_id} (position {position})"
        if chain.closed:
            return f"{where} comes after its crisis' last checkpoint"
        if position <= self.last_position:
            return (
                f"{where}: position {position} is not after {self.last_position} (lines reordered)"
            )
        mc = chain.mc_number + 1 if event.type == MAIN_COURANTE_ENTRY else None
        if payload_only:
            expected = payload_only_hash(chain.hash, seq, position, decoded.payload)
        else:
            columns = event_columns(event, decoded.delivery.recorded_at, mc)
            expected = chain_hash(chain.hash, seq, position, columns, decoded.payload)
        if expected != claimed:
            return (
                f"{where} does not match its hash: the line was changed, or a line of this "
                "crisis before it was removed or moved"
            )
        chain.crisis_seq, chain.hash, chain.position = seq, claimed, position
        chain.mc_number = mc or chain.mc_number
        self.records += 1
        self.last_position = position
        return None


def open_header(  # noqa: PLR0911 (one return per way a header can be wrong)
    data: dict[str, Any], expected_key: bytes | None
) -> tuple[ArchiveChecker | None, str | None]:
    """A checker for the archive this header opens, or what is wrong with the header."""
    body = data.get("archive")
    if not isinstance(body, dict) or set(data) != {"archive", "signature"}:
        return None, "a malformed header"
    if body.get("format") != FORMAT or body.get("version") != VERSION:
        return None, f"not a {FORMAT} archive of version {VERSION}"
    try:
        public = base64.b64decode(str(body.get("public_key")), validate=True)
    except binascii.Error:
        return None, "the header's public key is not base64"
    if len(public) != 32 or body.get("key_id") != key_id(public):
        return None, "the header's public key does not match its key id"
    if expected_key is not None and public != expected_key:
        return None, (
            f"signed by key {key_id(public)}, not by the expected key {key_id(expected_key)}"
        )
    if not signature_holds(public, "archive", body, data["signature"]):
        return None, "the header's signature does not verify"
    return ArchiveChecker(public, str(body.get("archive_id")), key_id(public)), None
