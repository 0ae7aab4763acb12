"""Work on a real queue: procrastinate on the catalog's own PostgreSQL.

``queue`` names the queues and their tasks, ``results`` is how a worker hands a rendering back
through the shared archive folder, ``coordinator`` records those results where the signing key
is, and ``runner`` is the web app's `JobRunner` over the queue.
"""
