"""The SQLite database of one study, ``STUDY/study.db``: study facts, pairs, raters (hashed tokens) and votes.

Every caller opens its own connection (``connect``; the server opens one per request), so nothing is shared across
threads. The database runs in WAL mode with ``synchronous=FULL``; a vote is one ``BEGIN IMMEDIATE`` transaction
(an UPSERT on the (rater, pair) primary key), so a rater has at most one vote per pair, a later vote replaces the
earlier one (``revisions`` counts replacements), and a vote that was acknowledged survives the server being killed.
``plays`` records that a rater played a pair through (a start, then an end at least most of the clip's length
later, by the server's clock); the server accepts a vote only for a played pair (``record_vote(require_played=)``).

Tokens are ``secrets.token_urlsafe`` strings; only their SHA-256 is stored, and a presented token's hash is compared
with ``hmac.compare_digest`` against every stored hash. Re-issuing a link (``rotate``) invalidates the old one.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import secrets
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from s2sbench.errors import ConfigError, InputError

DB_NAME = "study.db"
MEDIA_DIR = "media"
SCHEMA_VERSION = 1
CHOICES = ("left", "right", "tie")
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,128}")
NAME_RE = re.compile(r"[\w .@+-]{1,64}")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pairs (
    id INTEGER PRIMARY KEY,                                      -- 1-based pair number
    clip_id TEXT NOT NULL,
    clip_index INTEGER NOT NULL,                                 -- index of the clip in the dataset split
    left_run TEXT NOT NULL CHECK (left_run IN ('A', 'B')),       -- which run is shown on the left
    media_left TEXT NOT NULL UNIQUE,
    media_right TEXT NOT NULL UNIQUE
);
CREATE TABLE raters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE votes (
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    pair_id INTEGER NOT NULL REFERENCES pairs(id),
    choice TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie')),
    revisions INTEGER NOT NULL DEFAULT 0,                        -- how often the rater changed this vote
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (rater_id, pair_id)
);
"""

_PLAYS = """
CREATE TABLE IF NOT EXISTS plays (                               -- added after schema 1 (``ensure_plays``)
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    pair_id INTEGER NOT NULL REFERENCES pairs(id),
    started REAL NOT NULL,                                       -- unix time of the latest start (server clock)
    played TEXT,                                                 -- when the rater first played it through
    PRIMARY KEY (rater_id, pair_id)
);
"""

_UPSERT = """
INSERT INTO votes (rater_id, pair_id, choice, revisions, created, updated) VALUES (?, ?, ?, 0, ?, ?)
ON CONFLICT (rater_id, pair_id) DO UPDATE SET
    choice = excluded.choice, revisions = votes.revisions + 1, updated = excluded.updated
"""


class VoteRefused(InputError):
    """A vote or play the study refuses; ``status`` is the HTTP status the server answers with: 403 after
    ``study close``, 404 for a pair the study does not have, 409 for a pair the rater has not played through."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def connect(db: str | Path, *, create: bool = False) -> sqlite3.Connection:
    """A new connection to ``db`` (autocommit; transactions are explicit), WAL, ``synchronous=FULL``."""
    db = Path(db)
    if not create and not db.is_file():
        raise InputError(f"{db}: no study database here (make one with `s2sbench study create`)")
    conn = sqlite3.connect(db, timeout=30.0, isolation_level=None, check_same_thread=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    if create:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def open_study(study: str | Path) -> sqlite3.Connection:
    """Connect to ``STUDY/study.db``, checking that it is a study database of a version this code reads."""
    db = Path(study) / DB_NAME
    conn = connect(db)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as e:
        conn.close()
        raise InputError(f"{db}: not a study database ({e})") from None
    if row is None or int(row[0]) != SCHEMA_VERSION:
        conn.close()
        raise InputError(f"{db}: study schema version {row and row[0]!r}, this s2sbench reads {SCHEMA_VERSION}")
    return conn


def init(conn: sqlite3.Connection, info: dict[str, Any]) -> None:
    """Create the tables of a new study and store its facts ``info`` (runs, dataset, seed, ...)."""
    conn.executescript(_SCHEMA + _PLAYS)
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                     [("schema_version", str(SCHEMA_VERSION)), ("info", json.dumps(info, sort_keys=True))])


def ensure_plays(conn: sqlite3.Connection) -> None:
    """Add the ``plays`` table to a study made before it existed (a no-op otherwise)."""
    conn.execute(_PLAYS)


def study_info(conn: sqlite3.Connection) -> dict[str, Any]:
    return json.loads(conn.execute("SELECT value FROM meta WHERE key = 'info'").fetchone()[0])


def closed_at(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'closed_at'").fetchone()
    return row[0] if row else None


def close(conn: sqlite3.Connection) -> str:
    """Close the study to voting (idempotent); return when it was closed."""
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('closed_at', ?)", (now(),))
    return closed_at(conn) or ""


def add_pair(conn: sqlite3.Connection, pair_id: int, clip_id: str, clip_index: int, left_run: str,
             media_left: str, media_right: str) -> None:
    conn.execute("INSERT INTO pairs (id, clip_id, clip_index, left_run, media_left, media_right) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (pair_id, clip_id, clip_index, left_run, media_left, media_right))


def pairs(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM pairs ORDER BY id").fetchall()


def add_rater(conn: sqlite3.Connection, name: str, *, rotate: bool = False) -> str:
    """Invite rater ``name``; return the new token. An existing rater needs ``rotate`` (the old link stops working)."""
    if not NAME_RE.fullmatch(name) or name != name.strip():
        raise ConfigError(f"bad rater name {name!r}: use 1-64 letters, digits, spaces or . @ + - _")
    token = secrets.token_urlsafe(24)
    conn.execute("BEGIN IMMEDIATE")
    try:
        exists = conn.execute("SELECT id FROM raters WHERE name = ?", (name,)).fetchone()
        if exists and not rotate:
            raise ConfigError(f"rater {name!r} is already invited (pass --rotate to issue a new link; "
                              "the old one then stops working)")
        if exists:
            conn.execute("UPDATE raters SET token_sha256 = ? WHERE id = ?", (token_hash(token), exists[0]))
        else:
            conn.execute("INSERT INTO raters (name, token_sha256, created) VALUES (?, ?, ?)",
                         (name, token_hash(token), now()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return token


def set_admin_token(conn: sqlite3.Connection) -> str:
    """Issue a new admin token (the previous admin link stops working); return it."""
    token = secrets.token_urlsafe(24)
    conn.execute("INSERT INTO meta (key, value) VALUES ('admin_sha256', ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (token_hash(token),))
    return token


def _well_formed(token: str) -> bool:
    return isinstance(token, str) and TOKEN_RE.fullmatch(token) is not None


def rater_for_token(conn: sqlite3.Connection, token: str) -> sqlite3.Row | None:
    """The rater whose token this is, or None; every stored hash is compared in constant time."""
    if not _well_formed(token):
        return None
    want, found = token_hash(token), None
    for row in conn.execute("SELECT id, name, token_sha256 FROM raters").fetchall():
        if hmac.compare_digest(row["token_sha256"], want):
            found = row
    return found


def is_admin(conn: sqlite3.Connection, token: str) -> bool:
    row = conn.execute("SELECT value FROM meta WHERE key = 'admin_sha256'").fetchone()
    return bool(row) and _well_formed(token) and hmac.compare_digest(row[0], token_hash(token))


def record_play(conn: sqlite3.Connection, rater_id: int, pair_id: int, event: str, min_seconds: float) -> bool:
    """A rater's play of a pair: ``start`` (again) or ``end``, which counts only ``min_seconds`` after the latest
    start. Return whether the pair is now played through; raise ``VoteRefused`` (404, 409)."""
    if not conn.execute("SELECT 1 FROM pairs WHERE id = ?", (pair_id,)).fetchone():
        raise VoteRefused(404, f"no pair {pair_id}")
    t = time.time()
    if event == "start":
        conn.execute("INSERT INTO plays (rater_id, pair_id, started) VALUES (?, ?, ?) ON CONFLICT (rater_id, pair_id) "
                     "DO UPDATE SET started = excluded.started", (rater_id, pair_id, t))
        return played(conn, rater_id, pair_id)
    row = conn.execute("SELECT started FROM plays WHERE rater_id = ? AND pair_id = ?", (rater_id, pair_id)).fetchone()
    if row is None or t - row[0] < min_seconds:
        raise VoteRefused(409, f"pair {pair_id} ended {0 if row is None else t - row[0]:.1f} s after it started; "
                        f"play it through ({min_seconds:.1f} s at least)")
    conn.execute("UPDATE plays SET played = ? WHERE rater_id = ? AND pair_id = ? AND played IS NULL",
                 (now(), rater_id, pair_id))
    return True


def played(conn: sqlite3.Connection, rater_id: int, pair_id: int) -> bool:
    return conn.execute("SELECT 1 FROM plays WHERE rater_id = ? AND pair_id = ? AND played IS NOT NULL",
                        (rater_id, pair_id)).fetchone() is not None


def played_pairs(conn: sqlite3.Connection, rater_id: int) -> set[int]:
    return {r[0] for r in conn.execute("SELECT pair_id FROM plays WHERE rater_id = ? AND played IS NOT NULL",
                                       (rater_id,))}


def record_vote(conn: sqlite3.Connection, rater_id: int, pair_id: int, choice: str,
                require_played: bool = False) -> None:
    """Store (or replace) one vote in its own transaction; raise ``VoteRefused``: 403 closed, 404 unknown pair,
    and 409 with ``require_played`` when the rater has not played the pair through."""
    if choice not in CHOICES:
        raise InputError(f"bad choice {choice!r}: one of {', '.join(CHOICES)}")
    stamp = now()
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT 1 FROM meta WHERE key = 'closed_at'").fetchone():
            raise VoteRefused(403, "the study is closed; votes can no longer change")
        if not conn.execute("SELECT 1 FROM pairs WHERE id = ?", (pair_id,)).fetchone():
            raise VoteRefused(404, f"no pair {pair_id}")
        if require_played and not played(conn, rater_id, pair_id):
            raise VoteRefused(409, f"pair {pair_id} has not been played through yet: play both videos to the end first")
        conn.execute(_UPSERT, (rater_id, pair_id, choice, stamp, stamp))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def votes_of(conn: sqlite3.Connection, rater_id: int) -> dict[int, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT pair_id, choice FROM votes WHERE rater_id = ?", (rater_id,))}


def all_votes(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every vote joined with its rater and pair; ``preferred`` is the run chosen ('A', 'B') or 'tie'."""
    return conn.execute("""
        SELECT r.name AS rater, v.pair_id, p.clip_id, p.clip_index, p.left_run, v.choice,
               CASE v.choice WHEN 'tie' THEN 'tie' WHEN 'left' THEN p.left_run
                             ELSE (CASE p.left_run WHEN 'A' THEN 'B' ELSE 'A' END) END AS preferred,
               v.revisions, v.created, v.updated
        FROM votes v JOIN raters r ON r.id = v.rater_id JOIN pairs p ON p.id = v.pair_id
        ORDER BY r.name, v.pair_id""").fetchall()


def rater_order(pair_ids: list[int], seed: int, rater_id: int) -> list[int]:
    """The order rater ``rater_id`` sees the pairs in: a shuffle seeded by the study seed and the rater."""
    order = sorted(pair_ids)
    random.Random(f"{seed}:{rater_id}").shuffle(order)
    return order
