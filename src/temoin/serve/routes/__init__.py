"""One module per page family; each exposes `router`."""

from __future__ import annotations

from temoin.serve.routes import (
    account,
    entries,
    home,
    items,
    jobs,
    language,
    offline,
    people,
    publish,
    review,
    site,
    timeline,
    upload,
    users,
)

ROUTERS = [
    account.router,
    home.router,
    upload.router,
    entries.router,
    timeline.router,
    items.router,
    review.router,
    people.router,
    publish.router,
    jobs.router,
    language.router,
    users.router,
    site.router,
    offline.router,
]
