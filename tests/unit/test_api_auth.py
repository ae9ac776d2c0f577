"""Tokens, roles, sessions and the failed-login limiter (api/auth.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from api.app import new_session_id
from api.auth import (
    ROLE_PERMISSIONS,
    FailureLimiter,
    Permission,
    Principal,
    SessionStore,
    TokenBook,
)
from gateway.settings import ApiToken, Role

KEY = b"k" * 32
TOKENS = [
    ApiToken(name="An", role=Role.SUPERVISOR, token=SecretStr("supervisor-token-0001")),
    ApiToken(name="Bình", role=Role.VIEWER, token=SecretStr("viewer-token-00000002")),
]


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.VIEWER, Permission.READ, True),
        (Role.VIEWER, Permission.ALERTS_WRITE, False),
        (Role.VIEWER, Permission.CLIMATE, False),
        (Role.SUPERVISOR, Permission.ALERTS_WRITE, True),
        (Role.SUPERVISOR, Permission.PLANNING, False),
        (Role.MANAGER, Permission.PLANNING, True),
        (Role.MANAGER, Permission.ALERTS_WRITE, False),
        (Role.FACILITY, Permission.CLIMATE, True),
        (Role.FACILITY, Permission.ALERTS_WRITE, False),
        (Role.ADMIN, Permission.ADMIN, True),
    ],
)
def test_role_permissions(role: Role, permission: Permission, allowed: bool) -> None:
    assert Principal("x", role).may(permission) is allowed


def test_every_role_reads_and_admin_may_do_everything() -> None:
    assert all(Permission.READ in perms for perms in ROLE_PERMISSIONS.values())
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)


def test_token_book_finds_the_holder_and_keeps_no_clear_token() -> None:
    book = TokenBook(TOKENS, KEY)
    assert book.authenticate("supervisor-token-0001") == Principal("An", Role.SUPERVISOR)
    assert book.authenticate("viewer-token-00000002") == Principal("Bình", Role.VIEWER)
    assert book.authenticate("viewer-token-0000000") is None
    assert book.authenticate("") is None
    assert all(b"supervisor-token" not in digest for digest, _ in book._entries)


@given(st.text(max_size=64))
def test_token_book_refuses_anything_else(presented: str) -> None:
    book = TokenBook(TOKENS, KEY)
    expected = {t.token.get_secret_value(): t.name for t in TOKENS}.get(presented)
    principal = book.authenticate(presented)
    assert (principal.name if principal else None) == expected


def test_duplicate_token_values_are_refused() -> None:
    twice = [*TOKENS, ApiToken(name="C", role=Role.ADMIN, token=SecretStr("viewer-token-00000002"))]
    with pytest.raises(ValueError, match="same value"):
        TokenBook(twice, KEY)


def test_short_tokens_are_refused_by_the_config() -> None:
    with pytest.raises(ValidationError, match="16 characters"):
        ApiToken(name="x", role=Role.VIEWER, token=SecretStr("short"))


def test_sessions_expire_and_are_bounded() -> None:
    store = SessionStore(ttl_s=60, max_sessions=2, new_id=new_session_id)
    p = Principal("An", Role.SUPERVISOR)
    first = store.create(p, now=0, token="supervisor-token-0001")
    assert len(first) >= 40
    assert store.get(first, now=59.9) == p
    assert store.get(first, now=60) is None
    a, b, c = (store.create(p, now=100, token="supervisor-token-0001") for _ in range(3))
    assert store.get(a, now=101) is None  # the oldest went first
    assert store.get(b, now=101) == p and store.get(c, now=101) == p
    store.drop(b)
    assert store.get(b, now=101) is None
    assert store.get("not-a-session", now=101) is None


def test_saved_sessions_come_back_only_unexpired_and_for_the_same_token_and_role() -> None:
    an, binh = Principal("An", Role.SUPERVISOR), Principal("Bình", Role.VIEWER)
    an_token, binh_token = (t.token.get_secret_value() for t in TOKENS)
    old = SessionStore(ttl_s=60, max_sessions=10, new_id=new_session_id)
    early = old.create(an, now=0, token=an_token)  # expires at 60
    late = old.create(an, now=50, token=an_token)
    binhs = old.create(binh, now=50, token=binh_token)
    saved = old.entries(now=55)
    assert len(saved) == 3
    for entry in saved:  # hashes only: neither a session id nor a token is saved
        assert all(secret not in repr(entry) for secret in (early, late, an_token, binh_token))

    def restarted(tokens: list[ApiToken]) -> SessionStore:
        new = SessionStore(ttl_s=60, max_sessions=10, new_id=new_session_id)
        new.load(saved, now=70, accept=TokenBook(tokens, b"another-process-key!").accepts)
        return new

    same = restarted(TOKENS)
    assert same.get(late, now=70) == an and same.get(binhs, now=70) == binh
    assert same.get(early, now=70) is None  # expired meanwhile
    removed = restarted(TOKENS[:1])
    assert removed.get(binhs, now=70) is None and removed.get(late, now=70) == an
    rotated = restarted([TOKENS[0].model_copy(update={"token": SecretStr("new-supervisor-tok-9")})])
    assert rotated.get(late, now=70) is None  # a rotated token ends its sessions
    promoted = restarted([TOKENS[0].model_copy(update={"role": Role.ADMIN})])
    assert promoted.get(late, now=70) is None  # no session carries an old role


def test_limiter_locks_out_after_too_many_failures_then_lets_go() -> None:
    limiter = FailureLimiter(max_failures=3, window_s=60, lockout_s=300)
    assert limiter.retry_after("10.0.0.5", 0) is None
    assert limiter.failed("10.0.0.5", 0) is False
    assert limiter.failed("10.0.0.5", 1) is False
    assert limiter.failed("10.0.0.5", 2) is True
    assert limiter.retry_after("10.0.0.5", 2) == pytest.approx(300)
    assert limiter.retry_after("10.0.0.6", 2) is None  # per client
    assert limiter.retry_after("10.0.0.5", 302) is None


def test_limiter_forgets_failures_only_outside_the_window() -> None:
    limiter = FailureLimiter(max_failures=3, window_s=60, lockout_s=300)
    limiter.failed("c", 0)
    limiter.failed("c", 1)
    assert limiter.failed("c", 70) is False  # the first two fell out of the window
    assert limiter.failed("c", 71) is False
    assert limiter.failed("c", 72) is True  # 70, 71, 72: nothing in between clears them


@given(st.lists(st.floats(min_value=0, max_value=1000), max_size=50))
def test_limiter_never_locks_out_below_the_limit(times: list[float]) -> None:
    limiter = FailureLimiter(max_failures=len(times) + 1, window_s=1e9, lockout_s=10)
    for t in sorted(times):
        assert limiter.failed("c", t) is False


def test_limiter_memory_is_bounded() -> None:
    limiter = FailureLimiter(max_failures=5, window_s=60, lockout_s=60, max_clients=100)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}", 0)
    assert len(limiter._failures) == 100


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("Nguyễn Văn An", "FW_TOKEN_NGUYEN_VAN_AN"),
        ("Đỗ Thị Hà (ca sáng)", "FW_TOKEN_DO_THI_HA_CA_SANG"),
        ("wall display #2", "FW_TOKEN_WALL_DISPLAY_2"),
    ],
)
def test_token_env_names_are_shell_safe(name: str, var: str) -> None:
    from api.cli import env_name

    assert env_name(name) == var
