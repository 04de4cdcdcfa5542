"""Hostile input for snapshots (issue 13): `snapshot save` clobbers nothing, reading is bounded.

Archives are crafted here with tarfile (and, for gzip bombs, by concatenating gzip members, so a
2 MB file holds gigabytes of zeros without the test compressing them).
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from meshctl.errors import InputError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube import snapshot as S
from meshctl.kube.files import load_files
from meshctl.kube.snapshot import FORMAT, load_snapshot, save_snapshot
from tests.conftest import DEMO

MiB = 1024 * 1024
TOP_META = f"format: {FORMAT}\nclusters: [c1]\n"
C1_META = "cluster: c1\nkinds: [namespaces, pods]\n"
NAMESPACES = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: bookinfo}\n"
SNAPSHOT = {"meta.yaml": TOP_META, "c1/meta.yaml": C1_META, "c1/namespaces.yaml": NAMESPACES}


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo}\n")
    return load_files([str(path)])


@pytest.fixture
def manifests(tmp_path):
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo}\n")
    return folder


def write_dir(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def member(name: str, data: bytes = b"", **attrs) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def write_tgz(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def snapshot_members(top: str = "snap", files: dict[str, str] = SNAPSHOT) -> list:
    return [member(f"{top}/{rel}", text.encode()) for rel, text in files.items()]


def zero_bomb(path: Path, names: list[str], size: int) -> Path:
    """A .tar.gz whose members each hold ``size`` zero bytes, at about 1 KB per MiB on disk."""
    piece = gzip.compress(bytes(MiB), compresslevel=9)
    with open(path, "wb") as out:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = size
            out.write(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT)))
            for _ in range(size // MiB):
                out.write(piece)
        out.write(gzip.compress(bytes(2 * tarfile.BLOCKSIZE)))
    return path


def bounded(fn, *, seconds: float = 5.0, megabytes: float = 100.0):
    """Run ``fn``; assert it ends within the time and Python-heap budgets; return what it raised."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the caller checks what was raised
        raised = err
    else:
        raised = None
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes * MiB, f"peak {peak / MiB:.0f} MiB"
    return raised


def finishes(fn, seconds: float = 5.0):
    """Run ``fn`` in a thread, so a read that blocks (a FIFO) fails the test instead of hanging it."""
    result: dict = {}

    def target():
        try:
            result["value"] = fn()
        except Exception as err:  # noqa: BLE001
            result["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked (opened a FIFO?)"
    return result.get("error")


# ---------------------------------------------------------------------------------------------
# save: no file clobbered


def test_save_refuses_an_archive_that_is_not_a_snapshot(tmp_path, state):
    other = write_tgz(tmp_path / "backup.tar.gz", [member("home/notes.txt", b"precious")])
    before = other.read_bytes()
    with pytest.raises(UsageError, match="not a meshctl snapshot archive"):
        save_snapshot([state], str(other), names=["c1"])
    assert other.read_bytes() == before
    save_snapshot([state], str(other), names=["c1"], force=True)
    assert load_snapshot(str(other)).clusters[0].get(K.NAMESPACE, "bookinfo") is not None


@pytest.mark.parametrize("content", [b"not gzip at all", gzip.compress(b"plain text, not a tar")],
                         ids=["not-gzip", "gzip-not-tar"])
def test_save_refuses_a_file_named_like_an_archive(tmp_path, state, content):
    other = tmp_path / "data.tgz"
    other.write_bytes(content)
    with pytest.raises(UsageError, match="not a meshctl snapshot archive"):
        save_snapshot([state], str(other), names=["c1"])
    assert other.read_bytes() == content


def test_save_refuses_an_archive_whose_meta_is_not_a_snapshots(tmp_path, state):
    other = write_tgz(tmp_path / "x.tar.gz", [member("x/meta.yaml", b"format: something/else\n")])
    with pytest.raises(UsageError, match="not a meshctl snapshot archive"):
        save_snapshot([state], str(other), names=["c1"])


def test_resave_replaces_a_snapshot_archive_whatever_its_member_order(tmp_path, state):
    # Archives written before meta.yaml came first (and by `tar`) hold it after the cluster files.
    old = write_tgz(tmp_path / "old.tar.gz", list(reversed(snapshot_members("old"))))
    save_snapshot([state], str(old), names=["again"])
    assert [c.meta.cluster for c in load_snapshot(str(old)).clusters] == ["again"]
    with tarfile.open(old) as tar:
        assert tar.getnames()[:2] == ["old/meta.yaml", "old/again/meta.yaml"], "meta.yaml first"
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir()), "no temporary leftovers"


def test_the_target_check_on_a_bomb_is_bounded(tmp_path, state):
    bomb = zero_bomb(tmp_path / "bomb.tar.gz", ["snap/meta.yaml", "snap/c1/pods.yaml"], 500 * MiB)
    raised = bounded(lambda: save_snapshot([state], str(bomb), names=["c1"]))
    assert isinstance(raised, UsageError) and "not a meshctl snapshot archive" in raised.message


@pytest.mark.parametrize("target", ["snap", "snap.tar.gz"])
def test_a_symlink_at_the_target_is_not_followed(tmp_path, state, target):
    # The link points at an existing meshctl snapshot elsewhere: today's code wrote through it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = elsewhere / target
    save_snapshot([state], str(real), names=["original"])
    link = tmp_path / "out" / target
    link.parent.mkdir()
    link.symlink_to(real)
    with pytest.raises(UsageError, match="symbolic link") as info:
        save_snapshot([state], str(link), names=["new"])
    assert "--force" in info.value.hint
    assert link.is_symlink() and load_snapshot(str(real)).clusters[0].meta.cluster == "original"

    save_snapshot([state], str(link), names=["new"], force=True)
    assert not link.is_symlink(), "--force replaces the link itself"
    assert load_snapshot(str(link)).clusters[0].meta.cluster == "new"
    assert load_snapshot(str(real)).clusters[0].meta.cluster == "original", "the link's target is left alone"
    assert sorted(p.name for p in link.parent.iterdir()) == [target], "no temporary leftovers"


@pytest.mark.parametrize("target", ["snap", "snap.tar.gz"])
def test_a_dangling_symlink_is_not_written_through(tmp_path, state, target):
    victim = tmp_path / "victim" / target
    victim.parent.mkdir()
    link = tmp_path / target
    link.symlink_to(victim)
    with pytest.raises(UsageError, match="symbolic link"):
        save_snapshot([state], str(link), names=["c1"])
    assert not os.path.lexists(victim)
    save_snapshot([state], str(link), names=["c1"], force=True)
    assert not os.path.lexists(victim) and not link.is_symlink()


def test_a_symlink_to_a_directory_given_with_a_trailing_slash_is_not_followed(tmp_path, state):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UsageError, match="symbolic link"):
        save_snapshot([state], str(tmp_path / "link") + "/", names=["c1"])
    assert list(real.iterdir()) == []


def test_force_never_removes_files_a_snapshot_does_not_write(tmp_path, state):
    precious = write_dir(tmp_path / "precious", SNAPSHOT | {"c1/notes.txt": "mine"})
    for force in (False, True):
        with pytest.raises(UsageError, match=r"not a meshctl snapshot \(it holds c1/notes.txt") as info:
            save_snapshot([state], str(precious), names=["c1"], force=force)
        assert "--force" in info.value.hint
    assert (precious / "c1" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("extra", ["thesis.tex", ".git/HEAD", "c1/sub/pods.yaml"])
def test_force_refuses_a_directory_with_foreign_entries(tmp_path, state, extra):
    folder = write_dir(tmp_path / "folder", SNAPSHOT | {extra: "x"})
    with pytest.raises(UsageError):
        save_snapshot([state], str(folder), names=["c1"], force=True)
    assert (folder / extra).read_text() == "x"


def test_force_refuses_a_directory_holding_a_link(tmp_path, state):
    folder = write_dir(tmp_path / "folder", SNAPSHOT)
    outside = write_dir(tmp_path / "outside", {"keep.yaml": "x"})
    (folder / "c2").symlink_to(outside)
    with pytest.raises(UsageError, match="holds c2"):
        save_snapshot([state], str(folder), names=["c1"], force=True)
    assert (outside / "keep.yaml").read_text() == "x"


def test_force_replaces_a_damaged_snapshot_directory(tmp_path, state):
    damaged = write_dir(tmp_path / "snap", {"meta.yaml": "format: [\n", "c1/pods.yaml": "junk"})
    with pytest.raises(UsageError, match="not a meshctl snapshot"):
        save_snapshot([state], str(damaged), names=["c1"])
    save_snapshot([state], str(damaged), names=["new"], force=True)
    assert [c.meta.cluster for c in load_snapshot(str(damaged)).clusters] == ["new"]


@pytest.mark.parametrize("where", [".", "..", "", "sub/.."])
def test_the_current_directory_and_its_parents_are_refused(tmp_path, state, monkeypatch, where):
    cwd = write_dir(tmp_path / "work", SNAPSHOT)  # looks like a snapshot: still refused
    monkeypatch.chdir(cwd)
    (cwd / "sub").mkdir()
    with pytest.raises(UsageError, match="current directory or one of its parents"):
        save_snapshot([state], where, names=["c1"], force=True)
    assert (cwd / "c1" / "namespaces.yaml").read_text() == NAMESPACES


def test_a_project_root_is_refused(tmp_path, state):
    project = write_dir(tmp_path / "project", SNAPSHOT)
    (project / ".git").mkdir()
    with pytest.raises(UsageError, match="project root"):
        save_snapshot([state], str(project), names=["c1"], force=True)
    assert (project / ".git").is_dir()


def test_home_and_root_are_refused(tmp_path, state, monkeypatch):
    home = write_dir(tmp_path / "home", SNAPSHOT)  # even a home that holds only a snapshot
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(UsageError, match="home directory"):
        save_snapshot([state], os.path.expanduser("~"), names=["c1"], force=True)
    assert (home / "c1" / "namespaces.yaml").read_text() == NAMESPACES
    with pytest.raises(UsageError, match="filesystem root"):
        S._check_target("/", True)  # only the check: nothing is written even if it were to pass


def test_a_directory_at_an_archive_path_is_refused(tmp_path, state):
    folder = write_dir(tmp_path / "snap.tar.gz", SNAPSHOT)
    with pytest.raises(UsageError, match="is a directory"):
        save_snapshot([state], str(folder), names=["c1"], force=True)


def test_resave_onto_a_snapshot_directory_still_works(tmp_path, state):
    out = tmp_path / "snap"
    save_snapshot([state], str(out), names=["one"])
    save_snapshot([state], str(out), names=["two"])
    save_snapshot([state], str(out), names=["three"], force=True)
    assert [c.meta.cluster for c in load_snapshot(str(out)).clusters] == ["three"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.yaml", "snap"]


def test_cli_refusal_is_one_line_with_a_hint(cli, tmp_path, manifests):
    other = write_tgz(tmp_path / "backup.tar.gz", [member("notes.txt", b"precious")])
    r = cli("snapshot", "save", str(other), "-f", str(manifests))
    assert r.code == 2 and "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 2 and str(other) in lines[0] and lines[1].startswith("Hint:")
    assert cli("snapshot", "save", str(other), "-f", str(manifests), "--force").code == 0


# ---------------------------------------------------------------------------------------------
# archives: bounded


def test_gzip_bomb_is_refused_quickly_in_bounded_memory(tmp_path):
    names = ["snap/meta.yaml", "snap/c1/meta.yaml", "snap/c1/pods.yaml", "snap/c1/secrets.yaml"]
    bomb = zero_bomb(tmp_path / "bomb.tar.gz", names, 500 * MiB)
    assert bomb.stat().st_size < 3 * MiB
    raised = bounded(lambda: load_snapshot(str(bomb)))
    assert isinstance(raised, InputError) and "member snap/meta.yaml is larger than 1 MiB" in raised.message


def test_gzip_bomb_of_unlisted_members_is_refused_at_a_header(tmp_path):
    bomb = zero_bomb(tmp_path / "bomb.tgz", [f"z{i}" for i in range(4)], 500 * MiB)
    raised = bounded(lambda: load_snapshot(str(bomb)), seconds=1)
    assert isinstance(raised, InputError) and "member z0 is larger than 256 MiB" in raised.message


def test_zero_filled_member_ends_at_its_first_piece(tmp_path):
    bomb = zero_bomb(tmp_path / "bomb.tgz", ["snap/c1/pods.yaml"], 200 * MiB)  # under the per-file cap
    raised = bounded(lambda: load_snapshot(str(bomb)), seconds=2)
    assert isinstance(raised, InputError) and "binary data" in raised.message


def test_total_bytes_count_skipped_members(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "MAX_SNAPSHOT_BYTES", 4 * MiB)
    junk = [member(f"snap/junk{i}.bin", bytes(MiB)) for i in range(5)]
    archive = write_tgz(tmp_path / "big.tgz", snapshot_members() + junk)
    with pytest.raises(InputError, match="more than 4 MiB uncompressed"):
        load_snapshot(str(archive))


def test_member_count_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "MAX_MEMBERS", 50)
    many = [member(f"snap/c1/x{i}.yaml", b"a: 1\n") for i in range(60)]
    with pytest.raises(InputError, match="more than 50 members"):
        load_snapshot(str(write_tgz(tmp_path / "many.tgz", snapshot_members() + many)))


def test_huge_pax_header_is_refused(tmp_path):
    info, data = member("snap/c1/pods.yaml", b"")
    info.pax_headers = {"comment": "x" * (2 * MiB)}
    archive = write_tgz(tmp_path / "pax.tgz", snapshot_members() + [(info, data)])
    raised = bounded(lambda: load_snapshot(str(archive)), megabytes=20)
    assert isinstance(raised, InputError) and "header" in raised.message


def test_sparse_member_is_refused(tmp_path):
    # A pax GNU sparse header: 512 bytes on disk, 400 MiB when read (zeros for the holes).
    info, _ = member("snap/c1/pods.yaml", b"x" * 512)
    info.pax_headers = {"GNU.sparse.map": "0,512", "GNU.sparse.size": str(400 * MiB)}
    archive = write_tgz(tmp_path / "sparse.tgz", snapshot_members() + [(info, b"x" * 512)])
    raised = bounded(lambda: load_snapshot(str(archive)).clusters[0].list(K.POD))
    assert isinstance(raised, InputError) and "sparse" in raised.message


@pytest.mark.parametrize("name", ["../evil.yaml", "/etc/evil.yaml", "snap/../../evil.yaml", "snap\\..\\evil.yaml"])
def test_member_names_outside_the_archive_are_refused(tmp_path, name):
    archive = write_tgz(tmp_path / "x.tgz", snapshot_members() + [member(name, b"a: 1\n")])
    with pytest.raises(InputError, match="path outside the archive"):
        load_snapshot(str(archive))


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE], ids=["symlink", "hardlink"])
def test_a_link_named_like_a_wanted_file_is_not_read(tmp_path, kind):
    target = "/etc/passwd" if kind == tarfile.SYMTYPE else "snap/c1/namespaces.yaml"
    link = member("snap/c1/pods.yaml", type=kind, linkname=target)
    archive = write_tgz(tmp_path / "x.tgz", snapshot_members() + [link])
    with pytest.raises(InputError, match=r"member snap/c1/pods.yaml is a (symbolic|hard) link"):
        load_snapshot(str(archive))


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE], ids=["chr", "blk", "fifo"])
def test_devices_and_fifos_in_an_archive_are_refused(tmp_path, kind):
    archive = write_tgz(tmp_path / "x.tgz", snapshot_members() + [member("snap/c1/pods.yaml", type=kind)])
    with pytest.raises(InputError, match="is a (device|FIFO)"):
        load_snapshot(str(archive))


def test_only_members_meta_lists_are_kept(tmp_path):
    extra = {"c1/services.yaml": NAMESPACES, "c9/meta.yaml": C1_META, "c9/pods.yaml": NAMESPACES,
             "README.md": "hello", "c1/notes.txt": "x"}
    archive = write_tgz(tmp_path / "x.tgz", snapshot_members(files=SNAPSHOT | extra))
    snap = load_snapshot(str(archive))
    assert set(snap.clusters[0]._reader._members) == {"meta.yaml", "c1/meta.yaml", "c1/namespaces.yaml"}
    assert snap.clusters[0].list(K.POD) == []  # listed in kinds, no file: captured and empty


def test_members_larger_than_a_read_piece_are_read_whole(tmp_path):
    items = "".join(f"- apiVersion: v1\n  kind: Namespace\n  metadata: {{name: ns-{i:06d}}}\n" for i in range(60_000))
    files = SNAPSHOT | {"c1/namespaces.yaml": "apiVersion: v1\nkind: List\nitems:\n" + items}
    assert len(files["c1/namespaces.yaml"]) > 3 * S.CHUNK
    archive = write_tgz(tmp_path / "x.tgz", snapshot_members(files=files))
    assert len(load_snapshot(str(archive)).clusters[0].list(K.NAMESPACE)) == 60_000


def test_demo_as_archive_reads_like_the_directory(tmp_path):
    demo = load_snapshot(str(DEMO))
    out = tmp_path / "demo.tar.gz"
    save_snapshot(demo.clusters, str(out), names=[c.meta.cluster for c in demo.clusters])
    again = load_snapshot(str(out))
    for a, b in zip(demo.clusters, again.clusters):
        assert S.contents(a).counts == S.contents(b).counts


def test_a_fifo_given_as_the_archive_does_not_block(tmp_path):
    fifo = tmp_path / "snap.tar.gz"
    os.mkfifo(fifo)
    err = finishes(lambda: load_snapshot(str(fifo)))
    assert isinstance(err, InputError) and "FIFO" in err.message


# ---------------------------------------------------------------------------------------------
# directories: never leave the snapshot


def test_a_symlinked_kind_file_is_refused(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(NAMESPACES.replace("bookinfo", "stolen"))
    snap = write_dir(tmp_path / "snap", SNAPSHOT)
    (snap / "c1" / "namespaces.yaml").unlink()
    (snap / "c1" / "namespaces.yaml").symlink_to(outside)
    with pytest.raises(InputError, match=r"c1/namespaces.yaml: a symbolic link, not a regular file"):
        load_snapshot(str(snap)).clusters[0].list(K.NAMESPACE)


def test_a_symlinked_cluster_folder_is_refused(tmp_path):
    outside = write_dir(tmp_path / "outside", {"meta.yaml": C1_META, "namespaces.yaml": NAMESPACES})
    snap = write_dir(tmp_path / "snap", {"meta.yaml": TOP_META})
    (snap / "c1").symlink_to(outside)
    with pytest.raises(InputError, match=r"snap/c1: a symbolic link, not a folder"):
        load_snapshot(str(snap))


@pytest.mark.parametrize("rel", ["c1/pods.yaml", "meta.yaml"])
def test_a_fifo_in_a_snapshot_directory_is_not_opened(tmp_path, rel):
    snap = write_dir(tmp_path / "snap", SNAPSHOT)
    (snap / rel).unlink(missing_ok=True)
    os.mkfifo(snap / rel)
    err = finishes(lambda: [c.list(K.POD) for c in load_snapshot(str(snap)).clusters])
    assert isinstance(err, InputError) and "a FIFO, not a regular file" in err.message and rel in err.message


@pytest.mark.parametrize("folder", ["../outside", "../../etc", "/etc", "..", "a/b", "C:evil"])
def test_meta_cannot_name_folders_outside_the_snapshot(tmp_path, folder):
    write_dir(tmp_path / "outside", {"meta.yaml": C1_META, "namespaces.yaml": NAMESPACES})
    snap = write_dir(tmp_path / "snap", {"meta.yaml": f"format: {FORMAT}\nclusters: [{folder!r}]\n"})
    with pytest.raises(InputError, match="meta.yaml: clusters: .* is not a folder inside the snapshot"):
        load_snapshot(str(snap))


def test_an_oversized_file_is_refused_without_reading_it(tmp_path):
    snap = write_dir(tmp_path / "snap", SNAPSHOT)
    with open(snap / "c1" / "pods.yaml", "wb") as f:
        f.truncate(S.MAX_FILE_BYTES + 1)  # sparse: no disk used
    raised = bounded(lambda: load_snapshot(str(snap)).clusters[0].list(K.POD), seconds=2, megabytes=10)
    assert isinstance(raised, InputError) and "c1/pods.yaml: larger than 256 MiB" in raised.message


# ---------------------------------------------------------------------------------------------
# garbled meta.yaml: an error naming the file, never a traceback


@pytest.mark.parametrize(
    "top, c1, where, message",
    [
        (f"format: {FORMAT}\nclusters: 5\n", C1_META, "snap/meta.yaml: clusters", "expected a list"),
        (f"format: {FORMAT}\nclusters: [1]\n", C1_META, "snap/meta.yaml: clusters", "expected a list"),
        (f"format: {FORMAT}\nclusters: [c1]\ncreated: [x]\n", C1_META, "snap/meta.yaml: created", "expected a string"),
        (TOP_META, "cluster: c1\nkinds: {a: 1}\n", "snap/c1/meta.yaml: kinds", "expected a list"),
        (TOP_META, "cluster: [1]\nkinds: [pods]\n", "snap/c1/meta.yaml: cluster", "expected a string"),
        (TOP_META, "cluster: c1\ncontext: {a: b}\n", "snap/c1/meta.yaml: context", "expected a string"),
        (TOP_META, "cluster: c1\nmissing: 5\n", "snap/c1/meta.yaml: missing", "expected a list"),
        (TOP_META, "- just\n- a list\n", "snap/c1/meta.yaml", "missing or not a mapping"),
        (TOP_META, "cluster: caf\xe9\n".encode("latin-1"), "snap/c1/meta.yaml", "not valid UTF-8"),
        (TOP_META + "# padding\n" * 120_000, C1_META, "snap/meta.yaml", "larger than 1 MiB"),
    ],
    ids=["clusters-int", "clusters-int-list", "created-list", "kinds-mapping", "cluster-list", "context-mapping",
         "missing-int", "meta-a-list", "not-utf8", "huge"],
)
@pytest.mark.parametrize("packed", [False, True], ids=["dir", "archive"])
def test_garbled_meta_names_the_file(tmp_path, cli, top, c1, where, message, packed):
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "c1").mkdir()
    for path, text in ((snap / "meta.yaml", top), (snap / "c1" / "meta.yaml", c1)):
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    source = str(snap)
    if packed:
        source = str(tmp_path / "snap.tar.gz")
        with tarfile.open(source, "w:gz") as tar:
            tar.add(snap, arcname="snap")
        where = "member snap/meta.yaml" if "larger" in message else where.replace("snap/", "snap.tar.gz/", 1)
    with pytest.raises(InputError, match=message) as info:
        load_snapshot(source)
    assert where in info.value.message
    r = cli("snapshot", "show", source)
    assert r.code == 65 and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 2
