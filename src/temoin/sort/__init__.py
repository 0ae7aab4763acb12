"""Stage 3, sort: put a day of material in order: clocks, diary entries, figures, names."""
