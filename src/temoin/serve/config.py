"""Options of the web app, once: passed to `create_app`, never read from module globals."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServeSettings:
    """What an association may want to tune; defaults suit one small server and phone uploads."""

    max_upload_bytes: int = 4 * 1024**3  # one file; tus and form uploads alike (413 above)
    max_open_uploads: int = 50  # unfinished tus uploads per account, so no one fills the disk
    max_form_bytes: int = 1024 * 1024  # any other request body (forms); 413 above
    session_hours: int = 24 * 7  # a volunteer's phone stays signed in for a week in the field
    # sign-in attempts within `login_window_seconds` before each one makes the next wait (429)
    login_attempts_per_account: int = 5  # one account, from one address
    login_attempts_per_account_anywhere: int = 20  # one account, from every address together
    login_attempts_per_ip: int = 30  # one address, every account
    login_window_seconds: int = 15 * 60
    login_first_delay_seconds: float = 2.0  # then doubled at each attempt
    login_longest_delay_seconds: float = 5 * 60  # so nobody is locked out for longer
    login_tracked_keys: int = 10_000  # bound on the rate limiter's memory
    known_device_days: int = 365  # a browser that signed in is known this long (see devices.py)
    workers: int = 2  # in-process job threads
    write_wait_seconds: float = (
        120.0  # a page's write waits this long for the archive (jobs wait on)
    )
    hashing_threads: int = 1  # argon2 verifications at once: a sign-in burst leaves cores free
    redact_after_ingest: bool = True  # editors find derivatives ready in the review queue
    # where the publish button writes: inside the archive folder, or a folder given to `serve
    # --site`; "" (an encrypted archive not told where) means it writes no site at all
    site_folder: str = "site"
    secure_cookies: bool | None = None  # None: Secure exactly when the request came over TLS
