"""Stage 2, keep: the write-once vault of originals, the hash-chained custody log, and verify."""
