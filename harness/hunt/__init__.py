"""`harness hunt`: search the fault catalogue for monitoring gaps — customer impact and no alert.

plan.py      the seeded explorer: which trials to run, a pure function of seed, catalogue and budget
classify.py  one trial's journal → detected | gap | noise | tolerated | no-evidence, and lying health (pure)
shrink.py    a gap made smaller (fewer faults, milder magnitudes, shorter) while it stays a gap
confirm.py   whether a gap reproduces: its minimised trial run once more, a gap again with the same impact (pure)
trial.py     a trial as a scenario, run on the hunt's one cluster, which is checked (or recreated) between trials
hunt.py      the loop: explore within the budget, then shrink and confirm every gap; found scenarios
report.py    hunt.json, hunt.html and the terminal summary
compare.py   two hunts trial by trial, for `harness compare HUNT_A HUNT_B`

docs/hunt.md explains the classes, thresholds and seeds.
"""
