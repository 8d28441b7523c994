"""params matrices: one scenario per combination, pytest-like ids, located errors."""
import pytest

from harness.params import variant, variants
from harness.scenario import ScenarioError

TEXT = """\
name: incident
params:
  latency: [50, 200]
  nodes: [1, 3]
cluster: {nodes: ${nodes}}
phases:
  - name: slow
    duration: 2s
    faults:
      - {kind: latency, target: redis, latency: ${latency}}
expect: ["run: delivery.duplicated == 0"]
"""


def test_one_scenario_per_combination_named_like_pytest_ids():
    found = variants(TEXT)
    assert [s.name for s in found] == ["incident[latency=50-nodes=1]", "incident[latency=50-nodes=3]",
                                       "incident[latency=200-nodes=1]", "incident[latency=200-nodes=3]"]
    last = found[-1]
    assert last.nodes == 3 and last.phases[0].faults[0].spec.params["latency"] == 200


def test_variant_by_name():
    from pathlib import Path
    assert variant(TEXT, Path("x.yaml"), "incident[latency=200-nodes=1]").nodes == 1


def test_a_variants_recorded_source_finds_that_variant_again():
    # `harness report` re-judges a journal from the source its run_start recorded.
    from pathlib import Path
    for scenario in variants(TEXT):
        again = variant(scenario.source, Path("x.yaml"), scenario.name)
        assert (again.name, again.nodes, again.phases) == (scenario.name, scenario.nodes, scenario.phases)


@pytest.mark.parametrize("old, new, message", [
    ("${latency}}", "${latncy}}", r"<scenario>:10: \$\{latncy\}: unknown parameter; defined: latency, nodes"),
    ("  nodes: [1, 3]", "  nodes: []", r"<scenario>:4: params.nodes: must be a non-empty list"),
    ("  nodes: [1, 3]", "  nodes: [1, 1]", r"<scenario>:4: params.nodes: a value is listed twice"),
    ("  nodes: [1, 3]", "  nodes: [1, 7]", r"<scenario>:5: cluster.nodes: must be from 1 to 3, got 7"),
    # A parameter nothing refers to (a typo, or a value written without ${}) would run the same scenario
    # once per value under different names.
    ("{nodes: ${nodes}}", "{nodes: 1}", r"<scenario>:4: params.nodes: never used; write \$\{nodes\} where its value goes"),
])
def test_errors(old, new, message):
    with pytest.raises(ScenarioError, match=message):
        variants(TEXT.replace(old, new))


def test_a_reference_without_params_is_an_error():
    with pytest.raises(ScenarioError, match=r":5: \$\{nodes\}: unknown parameter; defined: none"):
        variants(TEXT.replace("params:\n  latency: [50, 200]\n  nodes: [1, 3]\n", "description: x\n\n\n"))
