"""Every path a user names is resolved inside the checkout, or refused with the path in the message.

Argo CD's rules (``util/app/path``, ``util/io/path``): the application ``path`` must be relative
and stay inside the repository; a values file, file parameter or component is relative to the
application path, and one with a leading ``/`` is relative to the repository root; after symlinks
are followed, each must still be inside the repository. A symlink anywhere in a checkout that is
absolute or climbs out of it is refused (``CheckOutOfBoundsSymlinks``).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from tiphys.sources.errors import Reason, SourceError

__all__ = ["check_symlinks", "is_inside", "relative", "resolve_app_path", "resolve_in_repo"]


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents


def relative(path: Path, root: Path) -> str:
    """``path`` as the user knows it: relative to the repository root, with ``/``."""
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)


def resolve_app_path(root: Path, path: str) -> Path:
    """The application directory ``path`` inside ``root`` (resolved), or a clear refusal."""
    shown = path or "."
    if PurePosixPath(path).is_absolute():
        raise SourceError(
            Reason.PATH_OUTSIDE_ROOT,
            f"path {shown!r}: absolute paths are not allowed; give a path relative to the repository root",
        )
    real_root = root.resolve()
    lexical = Path(os.path.normpath(real_root / path))
    if not is_inside(lexical, real_root):
        raise SourceError(Reason.PATH_OUTSIDE_ROOT, f"path {shown!r} resolves outside the repository")
    resolved = lexical.resolve()
    if not is_inside(resolved, real_root):
        raise SourceError(Reason.PATH_OUTSIDE_ROOT, f"path {shown!r} is a symlink that leads outside the repository")
    if not resolved.exists():
        raise SourceError(Reason.PATH_NOT_FOUND, f"path {shown!r} does not exist in the repository")
    if not resolved.is_dir():
        raise SourceError(Reason.PATH_NOT_FOUND, f"path {shown!r} is not a directory")
    return resolved


def resolve_in_repo(root: Path, app_dir: Path, name: str, *, what: str, directory: bool = False) -> Path:
    """A file (or directory) named relative to ``app_dir`` — ``/`` meaning ``root`` — inside ``root``.

    ``what`` names it in messages (``"values file"``). Raises PATH_NOT_FOUND when it is missing, so
    callers that tolerate missing files (``ignoreMissingValueFiles``) can catch exactly that.
    """
    if not name:
        raise SourceError(Reason.INVALID_SOURCE, f"{what}: an empty path was given")
    if "://" in name:
        raise SourceError(
            Reason.INVALID_SOURCE, f"{what} {name!r}: remote URLs are not supported; commit the file to the repository"
        )
    real_root = root.resolve()
    base = real_root if name.startswith("/") else app_dir
    lexical = Path(os.path.normpath(base / name.lstrip("/")))
    if not is_inside(lexical, real_root):
        raise SourceError(Reason.PATH_OUTSIDE_ROOT, f"{what} {name!r} resolves outside the repository")
    resolved = lexical.resolve()
    if not is_inside(resolved, real_root):
        raise SourceError(Reason.PATH_OUTSIDE_ROOT, f"{what} {name!r} is a symlink that leads outside the repository")
    if resolved == real_root and not directory:
        raise SourceError(Reason.INVALID_SOURCE, f"{what} {name!r} resolves to the repository root")
    if not resolved.exists():
        raise SourceError(Reason.PATH_NOT_FOUND, f"{what} {name!r} does not exist in the repository")
    if resolved.is_dir() != directory:
        kind = "a directory" if directory else "a file"
        raise SourceError(Reason.PATH_NOT_FOUND, f"{what} {name!r} is not {kind}")
    return resolved


def check_symlinks(base: Path, root: Path) -> None:
    """Refuse any symlink under ``base`` that is absolute or whose target climbs out of ``root``.

    The target is walked one component at a time, as Argo CD does, so ``a/../../x`` is caught even
    when ``a`` does not exist; chains are safe because every link in the tree is checked.
    """
    real_root = root.resolve()
    top = str(base.resolve())
    for directory, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if not (directory == top and d == ".git")]
        for name in (*dirnames, *filenames):
            link = Path(directory, name)
            if not link.is_symlink():
                continue
            target = os.readlink(link)
            shown = relative(link, real_root)
            if os.path.isabs(target):
                raise SourceError(
                    Reason.PATH_OUTSIDE_ROOT,
                    f"{shown}: symlink to an absolute path ({target}) is not allowed in the repository",
                )
            current = link.parent
            for part in PurePosixPath(target).parts:
                current = Path(os.path.normpath(current / part))
                if not is_inside(current, real_root):
                    raise SourceError(
                        Reason.PATH_OUTSIDE_ROOT, f"{shown}: symlink leads outside the repository (to {target})"
                    )
