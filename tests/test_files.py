"""Tier 1: common/files.write_atomically, which the checkpoint, the open fall question, the framing
record and the reports are written with."""
from __future__ import annotations

import os
import stat

import pytest

from common.files import write_atomically


def test_a_failed_write_leaves_the_old_file_whole_and_no_stray_file(tmp_path):
    path = tmp_path / "checkpoint.json"
    write_atomically(path, '{"reps": 3}')
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "\udcff not encodable")  # fails half-way through writing
    assert path.read_text() == '{"reps": 3}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json"]


def test_the_file_gets_the_mode_open_would_give_it(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomically(tmp_path / "framing.json", "[]")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "framing.json").stat().st_mode) == 0o640
