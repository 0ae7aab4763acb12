"""Stage 1, collect: walk folders and zips safely, sniff each file by content, read its metadata.

Nothing here writes to the archive; `temoin.collect.ingest` hands each readable file to the keep stage.
"""
