"""Thin command-line adapters over `Archive`; one module per stage family."""
