"""Factories that write real files (photos with EXIF, videos, chat exports) for tests and the demo."""
