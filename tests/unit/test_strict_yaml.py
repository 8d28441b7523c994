"""Hostile scenario YAML: refused with exit-2 errors naming the line, in bounded time, before building."""
import pytest

from harness import strict_yaml
from harness.scenario import ScenarioError, load, loads

GOOD = """\
name: t
phases:
  - {name: steady, duration: 2s}
expect:
  - "steady: publish.success_rate >= 0.99"
"""

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdef", "bcdefg"))


@pytest.mark.parametrize("text, message", [
    (LAUGHS, r"<scenario>:\d+: more than 50000 values once aliases are expanded"),
    ("a: &a [*a]\n", r"<scenario>:1: a YAML alias refers to a value containing itself"),
    ("a: " + "[" * 200 + "]" * 200 + "\n", r"<scenario>:1: nested deeper than 40 levels"),
    ("a: &a " + "[" * 30 + "1" + "]" * 30 + "\nb: &b " + "[" * 15 + "*a" + "]" * 15 + "\n",
     r"<scenario>:[12]: nested deeper than 40 levels once aliases are expanded"),
    ("a: &a 1\nb: [" + ", ".join(["*a"] * 65) + "]\n", r"<scenario>:2: more than 64 YAML aliases"),
    ("name: !foo x\n", r"<scenario>:1: name: unknown YAML tag '!foo'"),
    ("name: t\nphases: !!set {a}\n", r"<scenario>:2: phases: unknown YAML tag 'tag:yaml.org,2002:set'"),
    ("name: !!python/object:os.system x\n", r"<scenario>:1: name: unknown YAML tag"),
    (GOOD + "expect: []\n", r"<scenario>:6: duplicate key 'expect' \(lines 4 and 6\)"),
    (GOOD.replace("2s}", ".nan}"), r"<scenario>:3: phases\[0\]\.duration: \.nan is not a finite number"),
    (GOOD.replace("2s}", "-.inf}"), r"<scenario>:3: phases\[0\]\.duration: -\.inf is not a finite number"),
    (GOOD.replace("0.99", "nan"), r"<scenario>:5: expect\[0\]: the value 'nan' is not a finite number"),
    (GOOD.replace("0.99", "1e999"), r"<scenario>:5: expect\[0\]: the value '1e999' is not a finite number"),
    (GOOD.replace("2s}", f"'{'9' * 400}s'}}"), r"<scenario>:3: phases\[0\]\.duration: must be a duration"),
    (GOOD.replace("2s}", "1" * 5000 + "}"), r"<scenario>:3: phases\[0\]\.duration: 1{20}… is too long a number"),
    ("? [a, b]\n: 1\n", r"<scenario>:1: a mapping key must be a plain word"),
    ("name: [\n", r"<scenario>:2: not valid YAML"),
])
def test_hostile_yaml_is_refused_with_its_line(text, message):
    with pytest.raises(ScenarioError, match=message):
        loads(text)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.encode() + "description: café\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=rf"{path}:6: not UTF-8 text \(byte 0xe9\)"):
        load(path)


def test_timestamps_stay_text_and_plain_values_keep_their_types():
    doc, lines = strict_yaml.load("a: 2024-01-01\nb: [1, 2.5, true, null, x]\n")
    assert doc == {"a": "2024-01-01", "b": [1, 2.5, True, None, "x"]}
    assert lines[("b", 4)] == 2


def test_errors_are_one_bounded_line():
    huge = "x" * 100_000
    for text in (f"name: t\nphases: [{{name: s, duration: 1s}}]\ncolour: {huge}\n",
                 f"name: t\nphases: [{{name: s, duration: '{huge}'}}]\n",
                 f"name: t\nphases: [{{name: s, duration: 1s, faults: [{{kind: '{huge}'}}]}}]\n",
                 f"name: t\nphases: [{{name: s, duration: 1s}}]\nexpect: ['{huge}\n\n  second']\n"):
        with pytest.raises(ScenarioError) as caught:
            loads(text)
        assert len(str(caught.value)) <= 400 and "\n" not in str(caught.value)


@pytest.mark.parametrize("param", ["latency=.nan", "x=&a [*a]", "x=!!python/object:os.system ls",
                                   "x=[" + ", ".join(["*a"] * 70) + "]"])
def test_fault_parameters_on_the_command_line_are_read_as_strictly(param):
    from harness.faults.manual import parse_params
    with pytest.raises(ValueError, match=r"^--param (latency|x): "):
        parse_params([param])
