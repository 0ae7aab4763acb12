"""Known devices: an attack on one account from many addresses does not hold up its owner's phone.

Each client here is one browser (its own cookie jar) at one address, talking to the app in
process; the limiter's first delay is ten minutes, so a refusal (429) never depends on speed.
"""

from __future__ import annotations

import stat
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.serve.conftest import PASSWORD, csrf_of, settings

from temoin.archive import Archive
from temoin.serve.app import create_app
from temoin.serve.auth import LoginLimiter, network
from temoin.serve.devices import COOKIE, KEY_FILE
from temoin.serve.users import change_user

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

LONG = 600.0

Phone = Callable[..., TestClient]


@pytest.fixture
def phone(people_archive: Archive) -> Iterator[Phone]:
    """`phone(address)`: a new browser at that address, on one app for the whole test."""
    app = create_app(people_archive, settings(login_first_delay_seconds=LONG))

    def make(address: str, base_url: str = "http://testserver") -> TestClient:
        return TestClient(app, base_url=base_url, follow_redirects=False, client=(address, 5000))

    with make("192.0.2.1"):  # the app's lifespan, once; the browsers share it
        yield make


def _sign_in(client: TestClient, name: str = "amina", password: str = PASSWORD) -> int:
    page = client.get("/login")
    answer = client.post(
        "/login", data={"csrf": csrf_of(page.text), "name": name, "password": password}
    )
    return answer.status_code


def _known(phone: Phone, address: str) -> TestClient:
    """A browser amina signed in with once, then signed out of: it keeps its device cookie."""
    client = phone(address)
    assert _sign_in(client) == 303
    assert client.cookies.get(COOKIE)
    client.post("/logout", data={"csrf": csrf_of(client.get("/").text)})
    assert client.get("/csrf.json").status_code == 401  # signed out, still a known device
    return client


def _attack(phone: Phone, addresses: int = 8, each: int = 4) -> list[int]:
    answers = []
    for a in range(addresses):
        thief = phone(f"198.51.100.{a + 1}")
        answers += [_sign_in(thief, password=f"guess {a}-{n}") for n in range(each)]
    return answers


def test_an_attack_from_many_addresses_delays_new_devices_not_the_owners(phone: Phone) -> None:
    owner = _known(phone, "192.0.2.10")
    answers = _attack(phone)
    assert answers.count(401) == 20 and answers.count(429) == 12  # the account-wide tally
    assert _sign_in(phone("192.0.2.11")) == 429  # a new device waits, even with the password
    assert _sign_in(owner) == 303  # the owner's phone does not
    assert _sign_in(phone("192.0.2.12")) == 429  # and her sign-in did not clear the attack's


def test_the_known_device_is_throttled_on_its_own(phone: Phone) -> None:
    """A stolen device cookie cannot guess without limit: five tries, then it waits."""
    thief = _known(phone, "192.0.2.20")
    answers = []
    for a in range(7):  # a new address each time: only the device's own tally can stop it
        moved = phone(f"203.0.113.{a + 1}")
        moved.cookies.set(COOKIE, thief.cookies[COOKIE])
        thief = moved
        answers.append(_sign_in(thief, password=f"guess {a}"))
    assert answers == [401] * 5 + [429] * 2
    assert _sign_in(thief) == 429  # that device waits, even with the password
    assert _sign_in(phone("192.0.2.21")) == 303  # the account is not held up by it


def test_a_device_is_forgotten_when_the_password_changes(
    phone: Phone, people_archive: Archive
) -> None:
    owner = _known(phone, "192.0.2.30")
    change_user(people_archive, "amina", by="root", password="a new long password")
    _attack(phone)
    assert _sign_in(owner, password="a new long password") == 429  # a new device again


def test_a_disabled_accounts_devices_are_not_known(phone: Phone, people_archive: Archive) -> None:
    """Its password is not even checked under attack: 429, where a known device gets 401."""
    owner = _known(phone, "192.0.2.35")
    change_user(people_archive, "amina", by="root", disabled=True)
    _attack(phone)
    assert _sign_in(owner) == 429
    change_user(people_archive, "amina", by="root", disabled=False)
    assert _sign_in(owner) == 303


def test_the_device_cookie_is_httponly_lax_long_lived_and_secure_over_tls(
    phone: Phone, people_archive: Archive
) -> None:
    client = phone("192.0.2.40", base_url="https://testserver")
    page = client.get("/login")
    answer = client.post(
        "/login", data={"csrf": csrf_of(page.text), "name": "amina", "password": PASSWORD}
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= set(parts)
    assert f"max-age={365 * 24 * 3600}" in parts
    key = people_archive.root / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(people_archive.ctx.sealer.read_bytes(key)) == 32  # sealed when encrypted


def test_a_forged_or_foreign_cookie_is_a_new_device(phone: Phone) -> None:
    amina = _known(phone, "192.0.2.50")
    bilal = phone("192.0.2.51")
    assert _sign_in(bilal, "bilal") == 303
    _attack(phone)
    forged = phone("192.0.2.52")
    value: Any = amina.cookies[COOKIE]
    forged.cookies.set(COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert _sign_in(forged) == 429
    foreign = phone("192.0.2.53")
    foreign.cookies.set(COOKIE, bilal.cookies[COOKIE])  # bilal's device, signing in as amina
    assert _sign_in(foreign) == 429


def test_ipv6_clients_are_counted_per_64() -> None:
    limiter = LoginLimiter(
        3, 100, 900, 100, per_account_anywhere=100, first_delay=60, clock=lambda: 1000.0
    )
    same = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2:abcd::9"]
    assert [limiter.attempt("amina", ip) for ip in same] == [0.0, 0.0, 0.0]
    assert limiter.attempt("amina", "2001:db8:1:2::77") == 60  # the fourth from that /64 waits
    assert limiter.attempt("amina", "2001:db8:1:3::1") == 0.0  # the next /64 is another client
    assert network("::ffff:192.0.2.1") == "192.0.2.1"  # an IPv4 client seen through IPv6
    assert network("192.0.2.1") == "192.0.2.1"


def test_two_addresses_in_one_64_share_a_counter_through_the_sign_in_page(phone: Phone) -> None:
    answers = [_sign_in(phone(f"2001:db8:7:7::{n:x}"), password=f"guess {n}") for n in range(1, 8)]
    assert answers == [401] * 5 + [429] * 2
    assert _sign_in(phone("2001:db8:7:8::1")) == 303
