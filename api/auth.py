"""Tokens, roles, sessions and the failed-login limiter. Pure module: time comes in as a value.

- Tokens from the config are hashed once at startup (HMAC-SHA256 under a key
  chosen per process) and the clear values are dropped; a presented token is
  hashed the same way and compared with every known hash in constant time
  (``hmac.compare_digest``, no early exit), so neither the content nor the
  position of a token leaks through timing.
- A session (the control-room page's cookie) is a random 256-bit id, drawn by
  the ``new_id`` the app gives the store (randomness comes in, like time); the
  store keeps only its hash, bounded in number and lifetime. Saved sessions
  (api/session_file.py) come back after a restart only while unexpired and
  while the token they were made with is still configured with the same
  holder and role (a rotated or removed token ends its sessions).
- Failed attempts are counted per client address in a sliding window; an
  address over the limit is refused for a lockout period (HTTP 429). A
  success does not clear the count: one valid token (the wall display's)
  must not buy its holder fresh guesses at the others. Failures leave the
  count only by ageing out of the window.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from gateway.settings import ApiToken, Role


class Permission(StrEnum):
    READ = "read"  # site, zones, history, alerts, devices, live stream, metrics
    ALERTS_WRITE = "alerts:write"  # acknowledge and resolve
    PLANNING = "planning"  # staffing plans
    CLIMATE = "climate"  # climate per zone against comfort bands, HVAC advice
    ADMIN = "admin"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.SUPERVISOR: frozenset({Permission.READ, Permission.ALERTS_WRITE}),
    Role.MANAGER: frozenset({Permission.READ, Permission.PLANNING}),
    Role.FACILITY: frozenset({Permission.READ, Permission.CLIMATE}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the token's holder and role."""

    name: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


class TokenBook:
    """The configured tokens, hashed. ``authenticate`` costs the same for any input."""

    def __init__(self, tokens: Iterable[ApiToken], key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the hashing key needs at least 16 bytes")
        self._key = key
        self._entries: list[tuple[bytes, Principal]] = [
            (self._digest(t.token.get_secret_value()), Principal(t.name, t.role)) for t in tokens
        ]
        digests = [d for d, _ in self._entries]
        if len(set(digests)) != len(digests):
            raise ValueError("two API tokens have the same value")
        self._bindings = [
            (token_binding(t.token.get_secret_value()), Principal(t.name, t.role)) for t in tokens
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def accepts(self, saved: SavedSession) -> bool:
        """Whether a saved session was made with a token that is configured now, same role."""
        ok = False
        for binding, principal in self._bindings:
            if hmac.compare_digest(seal(saved.key, binding), saved.seal):
                ok = ok or principal == saved.principal
        return ok

    def _digest(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).digest()

    def authenticate(self, presented: str) -> Principal | None:
        digest = self._digest(presented)
        found: Principal | None = None
        for known, principal in self._entries:
            if hmac.compare_digest(known, digest):
                found = principal
        return found


def token_binding(token: str) -> bytes:
    """What ties a session to the token it was made with, stable across restarts."""
    return hashlib.sha256(b"floorwatch-session-binding\0" + token.encode("utf-8")).digest()


def seal(key: str, binding: bytes) -> str:
    """A session's seal: its id hash and its token's binding, hashed together."""
    return hashlib.sha256(key.encode("ascii") + binding).hexdigest()


@dataclass(frozen=True, slots=True)
class _Session:
    principal: Principal
    expires_at: float
    seal: str


@dataclass(frozen=True, slots=True)
class SavedSession:
    """A session as saved across restarts: no session id, no token, only hashes."""

    key: str  # SHA-256 of the session id
    principal: Principal
    expires_at: float
    seal: str  # seal(key, token_binding(token)): a rotated token ends its sessions


class SessionStore:
    """Login sessions by the hash of their id; bounded, each with an expiry."""

    def __init__(self, *, ttl_s: float, max_sessions: int, new_id: Callable[[], str]) -> None:
        self._ttl_s = ttl_s
        self._max = max_sessions
        self._new_id = new_id
        self._sessions: OrderedDict[str, _Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode("utf-8")).hexdigest()

    def create(self, principal: Principal, now: float, token: str) -> str:
        """A new session of ``principal``, who logged in with ``token``; returns its id."""
        session_id = self._new_id()
        key = self._key(session_id)
        self._sessions[key] = _Session(
            principal, now + self._ttl_s, seal(key, token_binding(token))
        )
        while len(self._sessions) > self._max:
            self._sessions.popitem(last=False)
        return session_id

    def get(self, session_id: str, now: float) -> Principal | None:
        key = self._key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        if now >= session.expires_at:
            del self._sessions[key]
            return None
        return session.principal

    def drop(self, session_id: str) -> None:
        self._sessions.pop(self._key(session_id), None)

    def entries(self, now: float) -> list[SavedSession]:
        """The live sessions, oldest first: to save."""
        return [
            SavedSession(k, s.principal, s.expires_at, s.seal)
            for k, s in self._sessions.items()
            if now < s.expires_at
        ]

    def load(
        self, saved: Iterable[SavedSession], now: float, accept: Callable[[SavedSession], bool]
    ) -> int:
        """Take back saved sessions that are unexpired and that ``accept`` (TokenBook.accepts)."""
        taken = 0
        for entry in saved:
            if now < entry.expires_at and accept(entry):
                self._sessions[entry.key] = _Session(entry.principal, entry.expires_at, entry.seal)
                taken += 1
        while len(self._sessions) > self._max:
            self._sessions.popitem(last=False)
        return taken


class FailureLimiter:
    """At most ``max_failures`` failed attempts per client in ``window_s``, then a lockout."""

    def __init__(
        self,
        *,
        max_failures: int,
        window_s: float,
        lockout_s: float,
        max_clients: int = 10_000,
    ) -> None:
        self._max_failures = max_failures
        self._window_s = window_s
        self._lockout_s = lockout_s
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._locked_until: dict[str, float] = {}

    def retry_after(self, client: str, now: float) -> float | None:
        """Seconds the client must wait, or None when it may try."""
        until = self._locked_until.get(client)
        if until is None:
            return None
        if now >= until:
            del self._locked_until[client]
            return None
        return until - now

    def failed(self, client: str, now: float) -> bool:
        """Record a failure; True when it locked the client out."""
        times = self._failures.pop(client, None) or deque()
        times.append(now)
        while times and times[0] <= now - self._window_s:
            times.popleft()
        self._failures[client] = times
        while len(self._failures) > self._max_clients:
            oldest, _ = self._failures.popitem(last=False)
            self._locked_until.pop(oldest, None)
        if len(times) >= self._max_failures:
            self._locked_until[client] = now + self._lockout_s
            times.clear()
            return True
        return False
