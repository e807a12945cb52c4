"""SSH sessions to devices through netmiko: credentials from profiles, host keys checked, hard deadlines.

netmiko is blocking, so each device runs in its own daemon thread; an asyncio
semaphore bounds how many run at once.  Threads cannot be killed, so the deadline
works on the connection instead: netmiko is handed a socket we opened ourselves,
and on the deadline we detach its channel (its next read or write raises at once),
close the transport and the socket.  The device's slot is freed immediately
either way, so one hung device never holds up the others, and its thread ends
within a read interval.

Host keys are checked against a known_hosts file (``NETMON_SSH_KNOWN_HOSTS``,
default ``~/.ssh/known_hosts``).  An unknown key is refused unless
``NETMON_SSH_AUTO_ADD_HOST_KEYS=true`` (trust on first use: the key is appended
under a lock, never rewritten); a *changed* key is always refused.

Secrets are resolved from the profile's ``env:``/``file:`` references only, are
handed to netmiko and nowhere else, and are stripped from any error text before
it leaves this module.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import io
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import paramiko
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from netmon.secrets import Secret, SecretError, resolve

if TYPE_CHECKING:
    from netmon.inventory.load import Inventory

log = logging.getLogger("netmon.ssh")

R = TypeVar("R")

DEFAULT_CONCURRENCY = 32
"""Sessions mostly wait on devices; 32 at once cost ~1 CPU core here (key exchange, parsing) and keep AAA
servers' login rate modest. bench/backup.py: 100 devices in ~7 s at 32, ~11.5 s at 16, ~6.7 s at 64 (CPU-bound)."""
DISCONNECT_S = 2.0
"""A polite logout gets this long, then the transport is closed (JunOS-like prompts can stall ``exit``)."""
NEEDS_ENABLE = frozenset({"cisco_ios", "cisco_xe", "arista_eos"})


class SshSettings(BaseSettings):
    """``NETMON_SSH_*`` knobs; credentials are never settings (they come from the inventory's profiles)."""

    model_config = SettingsConfigDict(env_prefix="NETMON_SSH_", extra="ignore")

    known_hosts: Path = Path("~/.ssh/known_hosts")
    auto_add_host_keys: bool = False
    concurrency: int = Field(DEFAULT_CONCURRENCY, ge=1, le=512)
    deadline_s: float | None = Field(None, gt=0)
    """Whole-session limit per device; default four times the profile's ``timeout_s``."""
    backup_at: str = "02:00"
    """Daily backup time (HH:MM, ``backup_timezone``), spread by ``backup_jitter_s``."""
    backup_timezone: str = "Asia/Ho_Chi_Minh"
    backup_jitter_s: int = Field(1800, ge=0)
    change_delay_s: float = Field(60.0, ge=0)
    """After a config-change signal, wait this long (and for the signals to stop) before backing up."""

    def deadline_for(self, target: SshTarget) -> float:
        return self.deadline_s if self.deadline_s is not None else 4 * target.timeout_s


# ----------------------------------------------------------------------------- errors
class DeviceError(Exception):
    """Why one device failed; the text names the device and never contains a secret.

    ``kind``: credentials, connect, timeout, auth, host_key, deadline, command, unsupported, error.
    """

    def __init__(self, device_id: str, address: str, kind: str, detail: str) -> None:
        super().__init__(f"{device_id} ({address}): {detail}")
        self.device_id = device_id
        self.address = address
        self.kind = kind
        self.detail = detail


class HostKeyRejected(paramiko.SSHException):  # type: ignore[misc]  # paramiko is untyped
    """Unknown host key while auto-add is off."""


# ----------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class SshTarget:
    """Everything one session needs. Secrets are :class:`Secret` objects: their repr is the reference."""

    device_id: str
    platform: str
    host: str
    port: int
    username: str
    profile: str
    timeout_s: float
    password: Secret | None = None
    key: Secret | None = None
    enable_secret: Secret | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def secrets(self) -> list[str]:
        return [s.reveal() for s in (self.password, self.key, self.enable_secret) if s is not None and s.reveal()]

    def error(self, kind: str, detail: str) -> DeviceError:
        for value in self.secrets():  # defence in depth: no library message may carry a secret out
            detail = detail.replace(value, "<removed>")
        return DeviceError(self.device_id, self.address, kind, detail)


def ssh_targets(
    inventory: Inventory, device_ids: Iterable[str] | None = None
) -> tuple[list[SshTarget], list[DeviceError]]:
    """SSH targets for devices with an ``ssh_profile`` (all, or ``device_ids``), plus per-device errors.

    A secret that cannot be resolved fails only the devices of that profile. Each
    profile's secrets are read once, however many devices use it.
    """
    errors: list[DeviceError] = []
    explicit = device_ids is not None
    if device_ids is None:
        devices = list(inventory.devices.values())
    else:
        ids = list(dict.fromkeys(device_ids))
        errors = [DeviceError(d, "?", "unknown", "not in the inventory") for d in ids if d not in inventory.devices]
        devices = [inventory.devices[d] for d in ids if d in inventory.devices]
    resolved: dict[str, tuple[dict[str, Secret | None], str | None]] = {}
    targets: list[SshTarget] = []
    for device in devices:
        address = device.mgmt.host
        if device.ssh_profile is None:
            if explicit:
                errors.append(DeviceError(device.id, address, "credentials", "has no ssh_profile in the inventory"))
            continue
        profile = inventory.ssh_profiles.get(device.ssh_profile)
        if profile is None:
            errors.append(DeviceError(device.id, address, "credentials",
                                      f"ssh profile {device.ssh_profile!r} is not defined"))
            continue
        if profile.name not in resolved:
            owner = f"ssh profile {profile.name}"
            try:
                resolved[profile.name] = ({
                    "password": resolve(profile.password, owner=owner) if profile.password else None,
                    "key": resolve(profile.key_file, owner=owner) if profile.key_file else None,
                    "enable_secret": resolve(profile.enable_secret, owner=owner) if profile.enable_secret else None,
                }, None)
            except SecretError as exc:
                resolved[profile.name] = ({}, str(exc))
        secrets, problem = resolved[profile.name]
        target_address = f"{address}:{profile.port}"
        if problem is not None:
            errors.append(DeviceError(device.id, target_address, "credentials", problem))
            continue
        targets.append(SshTarget(device.id, device.platform, address, profile.port, profile.username, profile.name,
                              profile.timeout_s, secrets["password"], secrets["key"], secrets["enable_secret"]))
    return targets, errors


# ----------------------------------------------------------------------------- host keys
def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class KnownHosts:
    """The known_hosts file all sessions share, and the policy for keys not in it."""

    _lock = threading.Lock()

    def __init__(self, path: Path | str, auto_add: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.auto_add = auto_add

    @classmethod
    def from_settings(cls, settings: SshSettings) -> KnownHosts:
        return cls(settings.known_hosts, settings.auto_add_host_keys)

    def policy(self) -> paramiko.MissingHostKeyPolicy:
        return _Policy(self)

    def add(self, hostname: str, key: paramiko.PKey) -> None:
        """Append one entry (never rewrite: other sessions and processes append too)."""
        line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(self.path, "a", encoding="ascii") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)  # another netmon process (CLI beside the service) may append
                fh.write(line)


class _Policy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def __init__(self, known: KnownHosts) -> None:
        self.known = known

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self.known.auto_add:
            raise HostKeyRejected(
                f"unknown SSH host key {key.get_name()} {fingerprint(key)} for {hostname}: not in "
                f"{self.known.path}. Check the fingerprint on the device's console, then add it "
                f"(ssh-keyscan) or set NETMON_SSH_AUTO_ADD_HOST_KEYS=true to trust new devices on first use"
            )
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.known.add(hostname, key)
        log.warning("trusting new SSH host key %s %s for %s (added to %s)",
                    key.get_name(), fingerprint(key), hostname, self.known.path)


# ----------------------------------------------------------------------------- one session
def _load_pkey(secret: Secret) -> paramiko.PKey:
    text = secret.reveal()
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            key: paramiko.PKey = cls.from_private_key(io.StringIO(text))
            return key
        except (paramiko.SSHException, ValueError):
            continue
    raise paramiko.SSHException(f"key_file {secret.ref} is not an unencrypted Ed25519, ECDSA or RSA private key")


class _Handle:
    """What the deadline needs to cut a session that its thread cannot be interrupted from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.killed = False
        self.sock: socket.socket | None = None
        self.conn: Any = None

    def attach(self, sock: socket.socket | None = None, conn: Any = None) -> None:
        with self._lock:
            if sock is not None:
                self.sock = sock
            if conn is not None:
                self.conn = conn
            killed = self.killed
        if killed:
            self.kill()

    def kill(self) -> None:
        with self._lock:
            self.killed = True
            conn, sock = self.conn, self.sock
        if sock is not None:  # first: a blocked recv() then sees a clean EOF rather than a closed descriptor
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if conn is not None:
            channel = getattr(conn, "channel", None)
            if channel is not None:
                channel.remote_conn = None  # netmiko's next read/write raises instead of polling to its timeout
            client = getattr(conn, "remote_conn_pre", None)
            transport = client.get_transport() if client is not None else None
            if transport is not None:
                transport.close()
        if sock is not None:
            sock.close()


class Session:
    """A logged-in, privileged CLI session; ``send`` runs one command and returns its output."""

    def __init__(self, conn: Any, target: SshTarget, deadline: float) -> None:
        self._conn = conn
        self.target = target
        self._deadline = deadline  # time.monotonic() value

    def send(self, command: str) -> str:
        """Output of ``command``; it may take whatever is left of the session deadline."""
        remaining = max(self._deadline - time.monotonic(), 1.0)
        output = self._conn.send_command(command, read_timeout=remaining, strip_prompt=True, strip_command=True)
        return str(output)


def _connect(target: SshTarget, known: KnownHosts, handle: _Handle, deadline: float) -> Session:
    from netmiko import ConnectHandler  # slow import (~0.3 s): only when a session is really opened

    sock = socket.create_connection((target.host, target.port), timeout=target.timeout_s)
    handle.attach(sock=sock)
    conn = ConnectHandler(
        device_type=target.platform,
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password.reveal() if target.password else "",
        secret=target.enable_secret.reveal() if target.enable_secret else "",
        pkey=_load_pkey(target.key) if target.key else None,
        use_keys=False,
        allow_agent=False,
        sock=sock,
        ssh_strict=True,
        system_host_keys=False,
        alt_host_keys=True,
        alt_key_file=str(known.path),
        conn_timeout=2 * target.timeout_s,  # with our socket: the whole handshake; the banner's limit comes first
        banner_timeout=target.timeout_s,
        auth_timeout=target.timeout_s,
        blocking_timeout=target.timeout_s,
        fast_cli=True,
        auto_connect=False,
    )
    conn.key_policy = known.policy()  # netmiko offers only auto-add or reject; ours appends or explains
    handle.attach(conn=conn)
    conn._open()  # what auto_connect would do, after the policy is in place
    session = Session(conn, target, deadline)
    if target.platform in NEEDS_ENABLE and not conn.check_enable_mode():
        try:
            conn.enable()
        except Exception as exc:
            raise _EnableFailed(str(exc)) from None
    return session


class _EnableFailed(Exception):
    pass


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: netmiko re-raises paramiko's errors as its own, the original in __context__."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _classify(target: SshTarget, exc: BaseException) -> DeviceError:
    """A clear, secret-free message for what went wrong."""
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout

    chain = _chain(exc)
    specific = (HostKeyRejected, paramiko.BadHostKeyException, paramiko.AuthenticationException, _EnableFailed,
                ConnectionRefusedError)
    exc = next((e for e in chain if isinstance(e, specific)), None) or next(
        (e for e in chain if isinstance(e, paramiko.SSHException) and "banner" in str(e).lower()), exc)
    if isinstance(exc, HostKeyRejected):
        return target.error("host_key", str(exc))
    if isinstance(exc, paramiko.BadHostKeyException):
        return target.error(
            "host_key", f"SSH host key CHANGED for {target.address} (now {exc.key.get_name()} {fingerprint(exc.key)}); "
            "refusing: the device was replaced or someone is in the middle. If it was replaced, remove the old "
            f"entry (ssh-keygen -R '{target.address}') and connect again")
    if isinstance(exc, NetmikoAuthenticationException | paramiko.AuthenticationException):
        return target.error("auth", f"authentication failed for user {target.username!r} "
                                    f"(ssh profile {target.profile}); check the profile's credentials")
    if isinstance(exc, _EnableFailed):
        return target.error("auth", f"could not enter privileged (enable) mode; check enable_secret of "
                                    f"ssh profile {target.profile}")
    if isinstance(exc, ConnectionRefusedError):
        return target.error("connect", "connection refused (no SSH server on that port?)")
    if isinstance(exc, TimeoutError | socket.timeout):
        return target.error("timeout", f"TCP connect timed out after {target.timeout_s:g} s")
    if isinstance(exc, paramiko.SSHException) and "banner" in str(exc).lower():
        return target.error("timeout", f"no SSH banner within {target.timeout_s:g} s "
                                       "(the port accepts TCP but does not speak SSH)")
    if any("No existing session" in str(e) for e in chain):
        return target.error("timeout", f"SSH handshake did not complete within {2 * target.timeout_s:g} s")
    if isinstance(exc, ReadTimeout | NetmikoTimeoutException):
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        return target.error("timeout", f"device stopped answering: {first.strip()}")
    if isinstance(exc, OSError):
        return target.error("connect", f"connection failed: {exc.strerror or exc}")
    first = next((line for line in str(exc).splitlines() if line.strip()), "")
    return target.error("error", f"{type(exc).__name__}: {first.strip()}" if first else type(exc).__name__)


def _disconnect(handle: _Handle) -> None:
    conn = handle.conn
    if conn is None:
        handle.kill()
        return
    timer = threading.Timer(DISCONNECT_S, handle.kill)
    timer.daemon = True
    timer.start()
    try:
        conn.disconnect()
    except Exception:  # a failing logout changes nothing about the result
        pass
    finally:
        timer.cancel()
        handle.kill()  # closes our socket too (netmiko does not own it)


# ----------------------------------------------------------------------------- many sessions
@dataclass
class Outcome(Generic[R]):
    """The result of one device's session: ``value`` or ``error``, and how long it took."""

    target: SshTarget
    value: R | None = None
    error: DeviceError | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


async def run_session(
    target: SshTarget, work: Callable[[Session], R], known: KnownHosts, deadline_s: float
) -> Outcome[R]:
    """Run ``work`` in a fresh session to ``target``, in a daemon thread, cut at ``deadline_s``."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[R] = loop.create_future()
    handle = _Handle()
    outcome: Outcome[R] = Outcome(target)
    started = time.monotonic()
    deadline = started + deadline_s

    def post(fn: Callable[..., None], arg: Any) -> None:
        def apply() -> None:
            if not future.done():
                fn(arg)
        with contextlib.suppress(RuntimeError):  # the loop closed while this thread was still busy
            loop.call_soon_threadsafe(apply)

    def body() -> None:
        try:
            session = _connect(target, known, handle, deadline)
            value = work(session)
        except BaseException as exc:  # reported to the loop, never raised in a bare thread
            post(future.set_exception, exc)
        else:
            post(future.set_result, value)
        finally:
            _disconnect(handle)

    threading.Thread(target=body, name=f"ssh-{target.device_id}", daemon=True).start()
    try:
        outcome.value = await asyncio.wait_for(asyncio.shield(future), deadline_s)
    except TimeoutError:
        handle.kill()
        outcome.error = target.error("deadline", f"no result within the {deadline_s:g} s session deadline; "
                                                 "session closed")
    except asyncio.CancelledError:
        handle.kill()
        raise
    except Exception as exc:
        outcome.error = exc if isinstance(exc, DeviceError) else _classify(target, exc)
    outcome.elapsed_s = time.monotonic() - started
    if outcome.error is not None:
        log.debug("%s", outcome.error)  # the caller reports it (once)
    return outcome


async def run_sessions(
    targets: Iterable[SshTarget],
    work: Callable[[Session], R],
    *,
    settings: SshSettings | None = None,
    concurrency: int | None = None,
    on_outcome: Callable[[Outcome[R]], Awaitable[None]] | None = None,
) -> list[Outcome[R]]:
    """Run ``work`` on every target, at most ``concurrency`` at once; outcomes in target order.

    ``on_outcome`` is awaited as each device finishes (e.g. to store its result
    while the others are still running).
    """
    settings = settings or SshSettings()
    known = KnownHosts.from_settings(settings)
    semaphore = asyncio.Semaphore(concurrency or settings.concurrency)

    async def one(target: SshTarget) -> Outcome[R]:
        async with semaphore:
            outcome = await run_session(target, work, known, settings.deadline_for(target))
        if on_outcome is not None:
            await on_outcome(outcome)
        return outcome

    return list(await asyncio.gather(*(one(t) for t in targets)))
