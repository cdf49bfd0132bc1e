"""The bubblewrap command line for one container, and where its paths lead on the host; no I/O.

What a sandbox guarantees: the host root read-only; ``/dev`` and ``/proc`` of its own; the data
dir and other hidden host directories covered by an empty tmpfs; ``/tmp`` and volumes only
where mounts put them; a PID, IPC and UTS namespace of its own (hostname = pod name); the
network namespace of the host unless the pod asks for none; a new session whose process group
the kubelet signals; ``--die-with-parent`` so nothing outlives the kubelet.

The host root is read-only, so a mount point that does not exist there (``/etc/config``,
``/var/run/secrets/…``) cannot be created. For those the deepest existing directory is
"split": covered by a tmpfs into which its entries are bound again one by one, the missing
directory created, and the tmpfs made read-only again after the mounts. Filesystem facts come
from a :class:`HostFS`, so this module stays pure and tests pass a dict.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["DEFAULT_PATH", "HostFS", "Mount", "Sandbox", "bwrap_argv", "host_path", "resolve_command"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SPECIAL = ("/dev", "/proc")


class HostFS(Protocol):
    def kind(self, path: str) -> str | None:
        """``dir``, ``file``, ``symlink`` or ``other`` (lstat, no symlink followed); None if absent."""

    def listdir(self, path: str) -> list[str]: ...

    def readlink(self, path: str) -> str: ...

    def executable(self, path: str) -> str:
        """``ok``, ``missing`` or ``denied`` for running ``path`` (symlinks followed)."""


@dataclass(frozen=True)
class Mount:
    dest: str  # path in the sandbox
    source: str = ""  # host path; empty for a tmpfs
    writable: bool = False


@dataclass(frozen=True)
class Sandbox:
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    cwd: str = "/"
    mounts: tuple[Mount, ...] = ()
    hidden: tuple[str, ...] = ()  # host directories covered by an empty tmpfs
    network: bool = True
    hostname: str = ""
    status_fd: int | None = None


@dataclass(frozen=True)
class _Layer:
    dest: str
    source: str | None  # host path this layer shows; None for a tmpfs or a kernel filesystem
    writable: bool
    host_root: bool = False  # the read-only host root (and the directories split from it)


def _under(path: str, top: str) -> bool:
    return top == "/" or path == top or path.startswith(top + "/")


def _effective(path: str, layers: Sequence[_Layer]) -> _Layer:
    """The layer that shows ``path``: the last one mounted at it or above it."""
    found = layers[0]
    for layer in layers:
        if _under(path, layer.dest):
            found = layer
    return found


def _canonical(path: str, fs: HostFS, covered: Callable[[str], bool], depth: int = 0) -> str:
    """``path`` with host symlinks resolved where the host root shows through (``/var/run`` → ``/run``)."""
    parts = [p for p in posixpath.normpath(path).split("/") if p]
    current = "/"
    for i, part in enumerate(parts):
        candidate = posixpath.join(current, part)
        if depth < 40 and not covered(candidate) and fs.kind(candidate) == "symlink":
            target = posixpath.normpath(posixpath.join(current, fs.readlink(candidate)))
            return _canonical(posixpath.join(target, *parts[i + 1 :]), fs, covered, depth + 1)
        current = candidate
    return current


def _layers(sandbox: Sandbox, mounts: Sequence[Mount], fs: HostFS) -> list[_Layer]:
    layers = [_Layer("/", "/", False, host_root=True), *(_Layer(p, None, True) for p in _SPECIAL)]
    layers += [_Layer(h, None, True) for h in sandbox.hidden if fs.kind(h) == "dir"]
    layers += [_Layer(m.dest, m.source or None, m.writable or not m.source) for m in mounts]
    return layers


def _mounts(sandbox: Sandbox, fs: HostFS) -> list[Mount]:
    """The sandbox's mounts with canonical destinations, parents before children."""
    tops = [posixpath.normpath(m.dest) for m in sandbox.mounts]

    def covered(path: str) -> bool:
        return any(_under(path, top) for top in tops if top != "/") or any(_under(path, s) for s in _SPECIAL)

    mounts = [Mount(_canonical(m.dest, fs, covered), m.source, m.writable) for m in sandbox.mounts]
    return sorted(mounts, key=lambda m: m.dest.rstrip("/").count("/"))


def _split_point(target: str, before: Sequence[_Layer], fs: HostFS) -> str | None:
    """The host directory to split so ``target`` can be created, or None when nothing is needed."""
    if not _effective(target, before).host_root or fs.kind(target) is not None:
        return None
    parent = posixpath.dirname(target)
    while parent != "/" and fs.kind(parent) != "dir":
        parent = posixpath.dirname(parent)
    return parent


def _exists(path: str, layers: Sequence[_Layer], fs: HostFS) -> bool:
    layer = _effective(path, layers)
    if layer.source is None:
        return path == layer.dest or layer.dest in _SPECIAL
    rest = posixpath.relpath(path, layer.dest)
    return fs.kind(posixpath.normpath(posixpath.join(layer.source, rest))) is not None


def _rebind(directory: str, fs: HostFS, skip: Sequence[str] = ()) -> list[str]:
    args: list[str] = []
    for name in sorted(fs.listdir(directory)):
        path = posixpath.join(directory, name)
        if path in skip:
            continue
        kind = fs.kind(path)
        if kind == "symlink":
            args += ["--symlink", fs.readlink(path), path]
        elif kind == "dir":
            args += ["--ro-bind", path, path]
        elif kind is not None:
            args += ["--ro-bind-try", path, path]
    return args


def bwrap_argv(sandbox: Sandbox, fs: HostFS, *, bwrap: str = "bwrap") -> list[str]:
    """The full argv that runs ``sandbox.argv`` inside bubblewrap."""
    mounts = _mounts(sandbox, fs)
    layers = _layers(sandbox, mounts, fs)
    fixed = len(layers) - len(mounts)
    splits: set[str] = set()
    for i, mount in enumerate(mounts):
        point = _split_point(mount.dest, layers[: fixed + i], fs)
        if point is not None:
            splits.add(point)
    cwd = posixpath.normpath(posixpath.join("/", sandbox.cwd or "/"))
    make_cwd = not _exists(cwd, layers, fs) and _effective(cwd, layers).writable
    point = _split_point(cwd, layers, fs)
    if point is not None:
        splits.add(point)
        make_cwd = True
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    if sandbox.hostname:
        args += ["--hostname", sandbox.hostname]
    if not sandbox.network:
        args.append("--unshare-net")
    if sandbox.status_fd is not None:
        args += ["--json-status-fd", str(sandbox.status_fd)]
    args.append("--clearenv")
    for name, value in sandbox.env:
        args += ["--setenv", name, value]
    if "/" in splits:
        args += _rebind("/", fs, skip=_SPECIAL)
    else:
        args += ["--ro-bind", "/", "/"]
    for point in sorted(splits - {"/"}, key=lambda p: p.count("/")):
        args += ["--tmpfs", point, *_rebind(point, fs)]
    args += ["--dev", "/dev", "--proc", "/proc"]
    for layer in layers[len(_SPECIAL) + 1 : fixed]:
        args += ["--tmpfs", layer.dest]
    for mount in mounts:
        if not mount.source:
            args += ["--tmpfs", mount.dest]
        else:
            args += ["--bind" if mount.writable else "--ro-bind", mount.source, mount.dest]
    if make_cwd:
        args += ["--dir", cwd]
    for point in sorted(splits, key=lambda p: -p.count("/")):
        args += ["--remount-ro", point]
    return [*args, "--chdir", cwd, "--", *sandbox.argv]


def host_path(sandbox: Sandbox, path: str, fs: HostFS) -> str | None:
    """Where ``path`` inside the sandbox lives on the host; None when no host file shows there."""
    mounts = _mounts(sandbox, fs)
    layer = _effective(posixpath.normpath(path), _layers(sandbox, mounts, fs))
    if layer.source is None:
        return None
    rest = posixpath.relpath(posixpath.normpath(path), layer.dest)
    return posixpath.normpath(posixpath.join(layer.source, rest)) if rest != "." else layer.source


def resolve_command(sandbox: Sandbox, fs: HostFS) -> str | None:
    """None if ``argv[0]`` can be executed in the sandbox, else the runtime's error (as runc words it)."""
    name = sandbox.argv[0] if sandbox.argv else ""
    if not name:
        return 'exec: "": executable file not found in $PATH'
    cwd = sandbox.cwd or "/"
    if "/" in name:
        where = host_path(sandbox, posixpath.join(cwd, name), fs)
        verdict = fs.executable(where) if where is not None else "missing"
        if verdict == "missing":
            return f'exec: "{name}": stat {name}: no such file or directory'
        return None if verdict == "ok" else f'exec: "{name}": permission denied'
    search = dict(sandbox.env).get("PATH", DEFAULT_PATH)
    for directory in search.split(":"):
        where = host_path(sandbox, posixpath.join(cwd, directory or ".", name), fs)
        if where is not None and fs.executable(where) == "ok":
            return None
    return f'exec: "{name}": executable file not found in $PATH'
