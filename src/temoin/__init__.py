"""temoin: a witness's archive, from the day's pile of material to a published, verifiable record."""

__version__ = "0.1.0"
