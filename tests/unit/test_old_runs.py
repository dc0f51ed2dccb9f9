"""The suite's own housekeeping (tests/helpers/old_runs.py): pytest's folders of earlier sessions, deleted from
threads while the tests run."""

import os

from helpers.old_runs import remove, remove_in_background, stale


def session(root, n, *, locked=False, files=3):
    folder = root / f"pytest-{n}"
    (folder / "popen-gw0" / "test_x0" / "deep").mkdir(parents=True)
    for i in range(files):
        (folder / "popen-gw0" / "test_x0" / "deep" / f"{i}.txt").write_text("x")
    if locked:
        (folder / ".lock").write_text("pid")
    return folder


def test_the_folders_beyond_the_newest_kept_go_oldest_first_and_locked_ones_stay(tmp_path):
    for n in (7, 9, 10, 11, 12):
        session(tmp_path, n, locked=n == 7)
    (tmp_path / "pytest-current").symlink_to(tmp_path / "pytest-12")
    (tmp_path / "pytest-notes").mkdir()  # not pytest's numbering
    (tmp_path / "other").mkdir()
    # numbered by value, not by name (10 after 9); the newest 3 kept; 7 is still locked by its session
    assert stale(tmp_path, 3) == [tmp_path / "pytest-9"]
    assert stale(tmp_path, 2) == [tmp_path / "pytest-9", tmp_path / "pytest-10"]
    assert stale(tmp_path, 0) == [tmp_path / f"pytest-{n}" for n in (9, 10, 11, 12)]

    remove_in_background(tmp_path, 2).join()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "pytest-11", "pytest-12", "pytest-7",
                                                          "pytest-current", "pytest-notes"]
    assert len(list((tmp_path / "pytest-11").rglob("*.txt"))) == 3  # the kept ones untouched


def test_a_folder_is_removed_whole_links_unfollowed(tmp_path):
    folder = session(tmp_path, 1, files=50)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    os.symlink(outside, folder / "popen-gw0" / "link_to_dir")
    os.symlink(outside / "keep.txt", folder / "link_to_file")
    remove(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside"]  # no garbage-* left either
    assert (outside / "keep.txt").read_text() == "mine"
    remove(tmp_path / "pytest-404")  # a folder another session removed first: nothing to do, no error
