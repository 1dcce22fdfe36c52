"""The upload trigger's delivery journal: what was recorded and not marked done comes back, in
order, in the next process (a new journal object on the same file stands for it); a torn last
line is cut off; the file keeps only what is owed."""

from __future__ import annotations

import pytest

from local_stack.aws.delivery_journal import DeliveryJournal


@pytest.fixture
def path(tmp_path):
    return tmp_path / "upload-events.jsonl"


def opened(path, **options) -> tuple[DeliveryJournal, list]:
    journal = DeliveryJournal(path, **options)
    return journal, journal.open()


def test_what_was_recorded_and_not_done_comes_back_in_order(path):
    journal, owed = opened(path)
    assert owed == []
    for number in range(4):
        journal.record(f"e{number}", {"key": f"incoming/{number}.png"})
    journal.done("e1")
    # no close: a process killed with SIGKILL closes nothing

    again, owed = opened(path)
    assert [entry_id for entry_id, _ in owed] == ["e0", "e2", "e3"]
    assert owed[1] == ("e2", {"key": "incoming/2.png"})
    assert again.owed() == 3


def test_what_the_next_process_delivers_is_owed_no_more(path):
    journal, _ = opened(path)
    journal.record("e0", {"key": "a"})
    journal.record("e1", {"key": "b"})

    second, owed = opened(path)
    for entry_id, _ in owed:
        second.done(entry_id)
    second.record("e2", {"key": "c"})

    _, owed = opened(path)
    assert owed == [("e2", {"key": "c"})]


def test_a_torn_last_line_is_cut_off_and_the_journal_goes_on(path):
    journal, _ = opened(path)
    journal.record("whole", {"key": "a"})
    with path.open("ab") as torn:  # the process was killed in the middle of a line
        torn.write(b'{"id": "torn", "bo')

    again, owed = opened(path)
    assert owed == [("whole", {"key": "a"})]
    again.record("after", {"key": "b"})

    _, owed = opened(path)
    assert owed == [("whole", {"key": "a"}), ("after", {"key": "b"})]


def test_opening_keeps_only_what_is_owed(path):
    journal, _ = opened(path)
    for number in range(50):
        journal.record(f"e{number}", {"key": f"incoming/{number}.png"})
        journal.done(f"e{number}")
    journal.record("owed", {"key": "incoming/owed.png"})
    before = path.stat().st_size

    _, owed = opened(path)
    assert owed == [("owed", {"key": "incoming/owed.png"})]
    assert path.stat().st_size < before / 50
    assert not path.with_name(path.name + ".partial").exists()


def test_the_file_is_emptied_when_nothing_is_owed_past_its_size(path):
    journal, _ = opened(path, compact_bytes=1000)
    for number in range(40):
        journal.record(f"e{number}", {"key": f"incoming/{number}.png"})
        journal.done(f"e{number}")
        assert path.stat().st_size < 1000 + 200  # one record and its mark past the limit at most
    journal.record("last", {"key": "incoming/last.png"})

    _, owed = opened(path)
    assert owed == [("last", {"key": "incoming/last.png"})]


def test_a_journal_not_open_refuses_to_record_by_name(path):
    with pytest.raises(ValueError, match=r"upload-events\.jsonl is not open"):
        DeliveryJournal(path).record("e0", {})
    journal, _ = opened(path)
    journal.close()
    with pytest.raises(ValueError, match="not open"):
        journal.done("e0")
