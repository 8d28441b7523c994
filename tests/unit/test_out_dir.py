"""Output directories: made new, never written over; one line when they cannot be."""
from harness.out_dir import claim


def test_a_new_directory_is_made_and_a_used_one_refused(tmp_path):
    out = tmp_path / "a" / "run"
    assert claim(out, "a run", "journal.jsonl*") is None and out.is_dir()
    (out / "journal.jsonl.gz").write_text("")          # a compressed journal holds a run too
    assert claim(out, "a run", "journal.jsonl*") == (
        f"{out / 'journal.jsonl.gz'} already holds a run; choose another --out (runs are never overwritten)")


def test_a_directory_that_cannot_be_made_is_said(tmp_path):
    (tmp_path / "file").write_text("")
    assert claim(tmp_path / "file" / "run", "a hunt").startswith(f"cannot write to --out {tmp_path / 'file' / 'run'}: ")
