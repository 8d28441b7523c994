"""The pytest plugin collects scenario files; bad ones are collection errors that say where and why."""
pytest_plugins = ["pytester"]

GOOD = "name: tiny\nphases:\n  - {name: steady, duration: 1s}\nexpect:\n  - 'steady: publish.success_rate >= 0.9'\n"


def test_scenarios_directory_is_collected(pytester):
    pytester.mkdir("scenarios")
    (pytester.path / "scenarios" / "tiny.yaml").write_text(GOOD)
    (pytester.path / "other.yaml").write_text("not: a scenario\n")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["scenarios/tiny.yaml::tiny"])
    assert "other.yaml" not in result.stdout.str()


def test_invalid_scenario_is_a_collection_error(pytester):
    (pytester.path / "bad.scenario.yaml").write_text(GOOD.replace("duration: 1s", "duration: soon"))
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*bad.scenario.yaml:3: phases[[]0[]].duration: must be a duration*"])
    assert result.ret != 0


def test_a_scenario_without_expectations_is_a_collection_error_not_a_pass(pytester):
    (pytester.path / "empty.scenario.yaml").write_text(GOOD.split("expect:")[0])
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*empty.scenario.yaml:1: expect: needs at least one expectation*"])
    assert result.ret != 0
