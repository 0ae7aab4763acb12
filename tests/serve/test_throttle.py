"""Sign-in throttling holds under concurrency: attempts are counted before a password is checked,
so a burst of wrong passwords sent at once gets only a few checks; the rest wait (429 with
Retry-After), and the owner of the account signs in from their own address meanwhile.

The number of password checks that ran is the number of 401 answers: a 401 is only ever given
after argon2 has compared the password."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from tests.serve.conftest import PASSWORD, LiveServer, free_port, settings

from temoin.archive import Archive
from temoin.serve.auth import LoginLimiter

_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
LONG = 600.0  # a first delay no burst outlasts, so what is counted does not depend on speed


@pytest.fixture
def guarded(people_archive: Archive) -> Iterator[LiveServer]:
    people_archive.close()
    server = LiveServer(
        people_archive.root, settings(login_first_delay_seconds=LONG), free_port()
    ).start()
    yield server
    server.stop()


def _login_form(server: LiveServer, address: str = "127.0.0.1") -> tuple[str, str]:
    """A sign-in form's token and its cookie, as a browser would hold them."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.url, transport=transport) as client:
        page = client.get("/login")
        found = _TOKEN.search(page.text)
        assert found is not None
        return found.group(1), page.cookies["temoin_login"]


async def _burst(server: LiveServer, attempts: list[tuple[str, str, str]]) -> list[httpx.Response]:
    """(address, name, password) attempts, all sent at once, each on its own connection."""
    forms = {address: _login_form(server, address) for address in {a for a, _, _ in attempts}}
    clients = {
        address: httpx.AsyncClient(
            base_url=server.url,
            transport=httpx.AsyncHTTPTransport(
                local_address=address, limits=httpx.Limits(max_connections=None)
            ),
            timeout=120,
        )
        for address in forms
    }

    async def one(address: str, name: str, password: str) -> httpx.Response:
        token, cookie = forms[address]
        return await clients[address].post(
            "/login",
            data={"csrf": token, "name": name, "password": password},
            headers={"cookie": f"temoin_login={cookie}"},
        )

    try:
        return list(await asyncio.gather(*(one(*a) for a in attempts)))
    finally:
        for client in clients.values():
            await client.aclose()


def _tally(answers: list[httpx.Response]) -> Counter[int]:
    for answer in answers:
        if answer.status_code == 429:
            wait = answer.headers["retry-after"]
            assert wait.isascii() and wait.isdigit() and int(wait) >= 1
            assert "try again in" in answer.text
    return Counter(a.status_code for a in answers)


def _signs_in(server: LiveServer, name: str, address: str) -> int:
    token, cookie = _login_form(server, address)
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.url, transport=transport) as client:
        answer = client.post(
            "/login",
            data={"csrf": token, "name": name, "password": PASSWORD},
            headers={"cookie": f"temoin_login={cookie}"},
        )
        return answer.status_code


def test_a_burst_of_wrong_passwords_for_one_account_gets_five_checks(
    guarded: LiveServer,
) -> None:
    attempts = [("127.0.0.2", "amina", f"wrong password {n}") for n in range(200)]
    counts = _tally(asyncio.run(_burst(guarded, attempts)))
    assert counts[401] == 5, counts  # five password checks ran, not two hundred
    assert counts[429] == 195, counts
    assert _signs_in(guarded, "amina", "127.0.0.2") == 429  # that address waits, even for her
    assert _signs_in(guarded, "amina", "127.0.0.3") == 303  # her own phone is not locked out
    assert _signs_in(guarded, "bilal", "127.0.0.1") == 303


def test_a_burst_for_many_accounts_from_one_address_is_capped(guarded: LiveServer) -> None:
    attempts = [("127.0.0.4", f"nobody {n}", "wrong password") for n in range(100)]
    counts = _tally(asyncio.run(_burst(guarded, attempts)))
    assert counts[401] == 30, counts
    assert counts[429] == 70, counts


def test_one_account_from_many_addresses_is_capped(guarded: LiveServer) -> None:
    attempts = [
        (f"127.0.0.{10 + a}", "bilal", f"guess {a}-{n}") for a in range(8) for n in range(10)
    ]
    counts = _tally(asyncio.run(_burst(guarded, attempts)))
    assert counts[401] == 20, counts  # the account's own tally, whatever the address
    assert counts[429] == 60, counts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_delays_grow_end_and_are_not_lengthened_by_hammering() -> None:
    clock = Clock()
    limiter = LoginLimiter(
        3, 100, 900, 100, per_account_anywhere=100, first_delay=2, max_delay=10, clock=clock
    )
    assert [limiter.attempt("amina", "10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    waits = []
    for _ in range(5):
        wait = limiter.attempt("amina", "10.0.0.1")
        assert wait > 0
        for _ in range(100):  # refused attempts are not counted: the wait does not grow
            assert limiter.attempt("amina", "10.0.0.1") == wait
        waits.append(wait)
        clock.now += wait
        assert limiter.attempt("amina", "10.0.0.1") == 0.0  # the delay ran out: one more try
    assert waits == [2, 4, 8, 10, 10]  # doubling, up to the longest delay
    assert limiter.attempt("amina", "10.0.0.2") == 0.0  # another address is not held up
    limiter.succeeded("amina", "10.0.0.1")
    assert limiter.attempt("amina", "10.0.0.1") == 0.0  # a sign-in clears the tally
    clock.now += 901
    assert [limiter.attempt("bilal", "10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_sign_in_gives_its_address_back() -> None:
    """Phones behind one address: successes do not use up the address's attempts."""
    clock = Clock()
    limiter = LoginLimiter(5, 3, 900, 100, clock=clock)
    for n in range(10):
        assert limiter.attempt(f"phone {n}", "192.0.2.1") == 0.0
        limiter.succeeded(f"phone {n}", "192.0.2.1")
