"""`harness compare`: two hand-made runs of one fault, one detected and one not, side by side."""
import json
from pathlib import Path

from harness import cli
from tests.unit.test_story import journal

SOURCE = "name: {name}\nphases: [{{name: day, duration: 30s}}]\nexpect: ['run: delivery.duplicated == 0']\n"


def write_run(directory: Path, name: str, detected: bool) -> Path:
    events = [e for e in journal() if detected or not (e["kind"].startswith("alert_") or e["kind"] == "note")]
    events[0] = {**events[0], "source": SOURCE.format(name=name), "path": f"{name}.yaml"}
    if detected:   # a watched run: the alert watcher's successful polls, once a second
        events = sorted(events + [{"t": float(s), "kind": "alert_watch_ok", "source": "prometheus"}
                                  for s in range(0, int(events[-1]["t"]) + 1)], key=lambda e: e["t"])
    run = directory / name
    run.mkdir(parents=True)
    (run / "journal.jsonl").write_text("".join(json.dumps({"wall": 1.8e9 + e["t"], **e}) + "\n" for e in events))
    return run


def test_compare_names_the_alerts_only_one_run_fired(tmp_path, capsys):
    baseline = write_run(tmp_path / "runs-a", "baseline", detected=False)
    hardened = write_run(tmp_path / "runs-b", "hardened", detected=True)
    # A run directory, or the directory holding one run.
    assert cli.main(["compare", str(baseline), str(tmp_path / "runs-b"), "--out", str(tmp_path / "cmp")]) == 0
    text = capsys.readouterr().out
    assert "A: baseline (r)" in text and "B: hardened (r)" in text
    assert "fault misconf (redis-misconf-unwritable-dir on redis)" in text
    rows = {line.strip().split("  ")[0]: line.split() for line in text.splitlines() if line.startswith("  ")}
    assert rows["first firing"][-2:] == ["3.0", "s"] and "–" in rows["first firing"]
    assert rows["alerts fired"][-2:] == ["none", "RedisCacheErrors"]
    assert "alerts only A fired: none" in text and "alerts only B fired: RedisCacheErrors" in text
    # The baseline's journal has no watcher poll: "none fired" there is no evidence, and the report says so.
    unwatched = "A: no monitoring evidence (the alert watcher never polled): its silence proves nothing"
    assert unwatched in text and "B: no monitoring evidence" not in text
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "only B fired: RedisCacheErrors" in html and "Fault misconf" in html and unwatched in html


def test_compare_refuses_what_is_not_a_run(tmp_path, capsys):
    write_run(tmp_path / "two", "a", detected=True)
    write_run(tmp_path / "two", "b", detected=True)
    assert cli.main(["compare", str(tmp_path / "two"), str(tmp_path / "two" / "a"), "--out", str(tmp_path / "c")]) == 2
    assert "holds 2: name one" in capsys.readouterr().err
    (tmp_path / "junk.jsonl").write_text('{"t": 0, "wall": 1800000000, "kind": "hello"}\n')
    assert cli.main(["compare", str(tmp_path / "junk.jsonl"), str(tmp_path / "two" / "a")]) == 2
    assert "junk.jsonl:1: the first event must be the run's one run_start" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_a_run_watched_only_in_part_is_named():
    from harness.report import compare

    def summary(polls, uncovered):
        return {"scenario": "s", "run_id": "r", "verdict": "pass", "expectations": [], "story": {},
                "run": {"metrics": {"monitoring.polls": polls, "monitoring.uncovered_s": uncovered}}}
    c = compare.compare(summary(60, 0.0), summary(40, 12.5))
    text = compare.render_text(c)
    # B's watcher was blind for 12.5 s: an alert it "never fired" may have fired then.
    assert "B: no monitoring evidence for 12.5 s of the run (the alert watcher was not polling)" in text
    assert "A: no monitoring evidence" not in text
