"""Moments: what happened together. Items cluster by time gaps and, where known, by place.

An eviction day reads as a handful of scenes (the police line at dawn, the queue for the buses, the
bulldozers); a reader needs those scenes, not 900 thumbnails. A new moment starts after a quiet gap
(default 20 minutes) or when an item with a position is far from where the moment is happening.
Names people give to moments are anchored on the moment's items, so they survive re-clustering
after a clock correction moves a few items in or out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

GAP = timedelta(minutes=20)
FAR_METRES = 1000.0


@dataclass
class Point:
    """One thing on the timeline: an item, or one diary entry (then `key` is the entry's id)."""

    key: str
    time_utc: datetime
    lat: float | None = None
    lon: float | None = None
    item_id: str | None = None  # the item a diary entry comes from


@dataclass
class Cluster:
    id: int
    start: datetime
    end: datetime
    keys: list[str] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    name: str | None = None
    _placed: int = 0

    def place(self, lat: float, lon: float) -> None:
        """Running centroid of the positions seen so far."""
        self._placed += 1
        if self.lat is None or self.lon is None:
            self.lat, self.lon = lat, lon
            return
        self.lat += (lat - self.lat) / self._placed
        self.lon += (lon - self.lon) / self._placed


def cluster(
    points: Iterable[Point], *, gap: timedelta = GAP, far_metres: float = FAR_METRES
) -> list[Cluster]:
    """Clusters in time order; `points` may come in any order."""
    ordered = sorted(points, key=lambda p: (p.time_utc, p.key))
    clusters: list[Cluster] = []
    current: Cluster | None = None
    for point in ordered:
        placed = point.lat is not None and point.lon is not None
        moved = (
            current is not None
            and placed
            and current.lat is not None
            and current.lon is not None
            and distance_m(current.lat, current.lon, point.lat, point.lon) > far_metres  # type: ignore[arg-type]
        )
        if current is None or point.time_utc - current.end > gap or moved:
            current = Cluster(len(clusters) + 1, point.time_utc, point.time_utc)
            clusters.append(current)
        current.end = point.time_utc
        current.keys.append(point.key)
        if placed:
            current.place(point.lat, point.lon)  # type: ignore[arg-type]
    return clusters


def carry_names(clusters: list[Cluster], names: Mapping[str, str]) -> None:
    """Give each cluster the name most of its named items carry (names keyed by item id)."""
    if not names:
        return
    for moment in clusters:
        votes = Counter(names[key] for key in moment.keys if key in names)
        if votes:
            moment.name = votes.most_common(1)[0][0]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; plenty precise at the scale of a camp."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))
