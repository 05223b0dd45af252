"""How a bulk file is split into items before landing: JSON Lines and JSON arrays, without Spark."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import BadInput
from lakehouse.partner_central.ingest import _file_items


def items(path: Path) -> list[tuple[int, str, object, str | None]]:
    return [(i.line, i.text, i.value, i.error) for i in _file_items(path)]


def test_json_lines_skip_blank_lines_and_keep_unreadable_ones_with_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "opps.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"Id": "O1"}\r\n\n  \n{"Id": \n\xff\xfe\n[1]\n')
    got = items(path)
    assert got[0] == (1, '{"Id": "O1"}', {"Id": "O1"}, None)
    assert got[1][:3] == (4, '{"Id": ', None) and got[1][3].startswith("invalid JSON: Expecting value")
    assert got[2][0] == 5 and got[2][3] == "not UTF-8 text: invalid start byte at byte 0"
    assert got[3] == (6, "[1]", [1], None)
    assert len(got) == 4


def test_a_json_array_yields_each_element_exactly_with_the_line_it_starts_on(tmp_path: Path) -> None:
    path = tmp_path / "opps.json"
    path.write_text('  [\n  {"Id": "O1",\n   "Catalog": "AWS"},\n  {"Id": "O2"}, 7\n]\n')
    assert items(path) == [
        (2, '{"Id": "O1",\n   "Catalog": "AWS"}', {"Id": "O1", "Catalog": "AWS"}, None),
        (4, '{"Id": "O2"}', {"Id": "O2"}, None),
        (4, "7", 7, None),
    ]


def test_a_truncated_array_ends_with_one_item_naming_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[{"Id": "O1"}, {"Id": ')
    assert items(path) == [
        (1, '{"Id": "O1"}', {"Id": "O1"}, None),
        (
            1,
            '{"Id":',
            None,
            "invalid JSON: Expecting value (the rest of the array is unreadable)",
        ),
    ]


def test_an_array_that_is_not_utf8_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'[{"Id": "O\xe9"}]')
    with pytest.raises(BadInput, match=r"latin1\.json is not UTF-8 text"):
        list(_file_items(path))
