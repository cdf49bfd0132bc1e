"""The bubblewrap command line: mounts, split directories for missing mount points, hidden dirs, PATH lookup."""

from __future__ import annotations

import posixpath

import pytest

from tiphys.cluster.kubelet.sandbox import Mount, Sandbox, bwrap_argv, host_path, resolve_command


class FakeFS:
    """A host filesystem from a dict: path -> "dir" | "file" | "exec" | "symlink:<target>"."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = {"/": "dir", **entries}
        for path in list(self.entries):
            parent = posixpath.dirname(path)
            while parent not in self.entries:
                self.entries[parent] = "dir"
                parent = posixpath.dirname(parent)

    def kind(self, path):
        entry = self.entries.get(path)
        if entry is None:
            return None
        if entry.startswith("symlink:"):
            return "symlink"
        return "dir" if entry == "dir" else "file"

    def listdir(self, path):
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix) :] for p in self.entries if p.startswith(prefix)}
        return sorted(n for n in names if n and "/" not in n)

    def readlink(self, path):
        return self.entries[path].removeprefix("symlink:")

    def resolve(self, path, depth=0):
        current = "/"
        parts = [p for p in path.split("/") if p]
        for i, part in enumerate(parts):
            current = posixpath.join(current, part)
            entry = self.entries.get(current, "")
            if entry.startswith("symlink:") and depth < 10:
                target = posixpath.join(posixpath.dirname(current), entry.removeprefix("symlink:"))
                return self.resolve(posixpath.join(posixpath.normpath(target), *parts[i + 1 :]), depth + 1)
        return current

    def executable(self, path):
        entry = self.entries.get(self.resolve(path))
        if entry is None:
            return "missing"
        return "ok" if entry == "exec" else "denied"


FS = FakeFS(
    {
        "/usr/bin/sh": "exec",
        "/usr/bin/cat": "exec",
        "/usr/bin/notes.txt": "file",
        "/bin": "symlink:usr/bin",
        "/etc/passwd": "file",
        "/etc/hostname": "file",
        "/etc/ssl": "dir",
        "/var/run": "symlink:/run",
        "/run/lock": "dir",
        "/tmp": "dir",
        "/home/me/.ssh/id": "file",
        "/data/tiphys/pods/u/vol": "dir",
        "/data/tiphys/pods/u/vol/run.sh": "exec",
        "/data/tiphys/pods/u/tmp": "dir",
    }
)
HOME = "/data/tiphys"


def sandbox(*mounts, **kw):
    base = {
        "argv": ("sh", "-c", "true"),
        "env": (("PATH", "/usr/bin:/bin"), ("A", "1")),
        "mounts": (Mount("/tmp", "/data/tiphys/pods/u/tmp", writable=True), *mounts),
        "hidden": ("/home/me", HOME),
        "hostname": "web-0",
    }
    return Sandbox(**{**base, **kw})


def pairs(argv, flag):
    """The operands of every occurrence of ``flag`` (one or two each)."""
    width = {"--tmpfs": 1, "--dir": 1, "--remount-ro": 1, "--chdir": 1, "--hostname": 1}.get(flag, 2)
    return [tuple(argv[i + 1 : i + 1 + width]) for i, a in enumerate(argv) if a == flag]


def test_the_plain_sandbox():
    argv = bwrap_argv(sandbox(), FS, bwrap="/usr/bin/bwrap")
    assert argv[:6] == [
        "/usr/bin/bwrap",
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
    ]
    assert "--unshare-net" not in argv
    assert pairs(argv, "--hostname") == [("web-0",)]
    assert argv[argv.index("--clearenv") + 1 : argv.index("--clearenv") + 7] == [
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "A",
        "1",
    ]
    assert pairs(argv, "--ro-bind")[0] == ("/", "/")
    assert pairs(argv, "--tmpfs") == [("/home/me",), ("/data/tiphys",)]
    assert pairs(argv, "--bind") == [("/data/tiphys/pods/u/tmp", "/tmp")]
    assert argv.index("--dev") < argv.index("--tmpfs") < argv.index("--bind")  # hidden before the pod's mounts
    assert argv[-5:] == ["--chdir", "/", "--", "sh", "-c", "true"][-5:] and argv[-4:] == ["--", "sh", "-c", "true"]
    assert pairs(argv, "--remount-ro") == []


def test_no_network():
    assert "--unshare-net" in bwrap_argv(sandbox(network=False), FS)


def test_a_mount_point_missing_under_the_read_only_root_splits_its_parent():
    argv = bwrap_argv(sandbox(Mount("/etc/config", "/data/tiphys/pods/u/vol")), FS)
    assert ("/etc",) in pairs(argv, "--tmpfs")
    assert ("/etc/passwd", "/etc/passwd") in pairs(argv, "--ro-bind-try")
    assert ("/etc/ssl", "/etc/ssl") in pairs(argv, "--ro-bind")
    assert ("/data/tiphys/pods/u/vol", "/etc/config") in pairs(argv, "--ro-bind")
    assert pairs(argv, "--remount-ro") == [("/etc",)]
    assert argv.index("/etc/config") > argv.index("--tmpfs")


def test_an_existing_mount_point_needs_no_split():
    argv = bwrap_argv(sandbox(Mount("/etc/hostname", "/data/tiphys/pods/u/hostname")), FS)
    assert ("/etc",) not in pairs(argv, "--tmpfs")


def test_a_mount_point_at_the_top_splits_the_root():
    argv = bwrap_argv(sandbox(Mount("/config", "/data/tiphys/pods/u/vol")), FS)
    assert ("/", "/") not in pairs(argv, "--ro-bind")
    assert ("/usr", "/usr") in pairs(argv, "--ro-bind")
    assert ("usr/bin", "/bin") in pairs(argv, "--symlink")
    assert pairs(argv, "--remount-ro") == [("/",)]


def test_mount_points_behind_host_symlinks_are_resolved():
    mount = Mount("/var/run/secrets/kubernetes.io/serviceaccount", "/data/tiphys/pods/u/sa")
    argv = bwrap_argv(sandbox(mount), FS)
    assert ("/data/tiphys/pods/u/sa", "/run/secrets/kubernetes.io/serviceaccount") in pairs(argv, "--ro-bind")
    assert ("/run",) in pairs(argv, "--tmpfs")
    assert ("/run/lock", "/run/lock") in pairs(argv, "--ro-bind")


def test_mounts_under_a_writable_mount_need_no_split_and_parents_come_first():
    argv = bwrap_argv(sandbox(Mount("/tmp/a/b", "/x"), Mount("/tmp/a", "/y", writable=True)), FS)
    assert pairs(argv, "--bind") == [("/data/tiphys/pods/u/tmp", "/tmp"), ("/y", "/tmp/a")]
    assert argv.index("/tmp/a") < argv.index("/tmp/a/b")
    assert pairs(argv, "--remount-ro") == []


def test_a_missing_working_dir_is_created():
    assert ("/work",) in pairs(bwrap_argv(sandbox(cwd="/work"), FS), "--dir")
    assert ("/tmp/w",) in pairs(bwrap_argv(sandbox(cwd="/tmp/w"), FS), "--dir")
    assert pairs(bwrap_argv(sandbox(cwd="/etc/ssl"), FS), "--dir") == []


def test_host_paths_follow_the_mounts():
    box = sandbox(Mount("/scripts", "/data/tiphys/pods/u/vol"))
    assert host_path(box, "/scripts/run.sh", FS) == "/data/tiphys/pods/u/vol/run.sh"
    assert host_path(box, "/tmp/x", FS) == "/data/tiphys/pods/u/tmp/x"
    assert host_path(box, "/usr/bin/sh", FS) == "/usr/bin/sh"
    assert host_path(box, "/data/tiphys/pki", FS) is None  # hidden
    assert host_path(box, "/dev/null", FS) is None


@pytest.mark.parametrize(
    "argv, cwd, error",
    [
        pytest.param(("sh",), "/", None, id="in-path"),
        pytest.param(("cat",), "/", None, id="through-a-symlinked-dir"),
        pytest.param(("/bin/sh",), "/", None, id="absolute"),
        pytest.param(("/scripts/run.sh",), "/", None, id="in-a-volume"),
        pytest.param(("./run.sh",), "/scripts", None, id="relative-to-cwd"),
        pytest.param(("nope",), "/", 'exec: "nope": executable file not found in $PATH', id="not-found"),
        pytest.param(("notes.txt",), "/", 'exec: "notes.txt": executable file not found in $PATH', id="not-exec"),
        pytest.param(("/nope",), "/", 'exec: "/nope": stat /nope: no such file or directory', id="absolute-missing"),
        pytest.param(("/etc/passwd",), "/", 'exec: "/etc/passwd": permission denied', id="absolute-not-exec"),
        pytest.param(("/etc",), "/", 'exec: "/etc": permission denied', id="a-directory"),
        pytest.param(
            ("/data/tiphys/x",),
            "/",
            'exec: "/data/tiphys/x": stat /data/tiphys/x: no such file or directory',
            id="hidden",
        ),
    ],
)
def test_resolve_command(argv, cwd, error):
    box = sandbox(Mount("/scripts", "/data/tiphys/pods/u/vol"), argv=argv, cwd=cwd)
    assert resolve_command(box, FS) == error
