"""Game days: a live cluster under steady load, faults and notes by hand from any terminal or the live
page, everything in one journal, and the story afterwards (docs/gameday.md)."""
