"""The web app in French: stored values, the gate's reasons, refusals and errors, the scripts'
words, and a French phone in Chromium that axe-core finds usable.

The association works in French. A page that says "pending", "refused: markup (HTML/XML) content"
or "the form's security token is missing or stale" in the middle of French tells a volunteer less
than it should; the records (job results, the custody log) keep their English all the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from tests.conftest import BROWSER_MARKS
from tests.serve.conftest import LiveServer, token, wait_job
from tests.serve.test_offline import _controlled
from tests.serve.test_upload_page import Phone

from temoin.archive import Archive
from temoin.serve import icons
from temoin.serve.config import ServeSettings
from temoin.testing.photos import make_photo

FR = {"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"}
FR_PAGE = {**FR, "accept": "text/html"}
EN_PAGE = {"accept-language": "en", "accept": "text/html"}


def _entry(client: Any, text: str = "1051 people left in buses") -> str:
    fields = {"csrf": token(client), "text": text, "day": "2016-10-24", "time": "14:30"}
    posted = client.post("/entries", data=fields)
    assert posted.status_code == 303, posted.text
    return str(posted.headers["location"].split("#i")[1])


def _full_id(archive: Archive, prefix: str) -> str:
    [item] = [i["id"] for i in archive.list_items() if i["id"].startswith(prefix)]
    return str(item)


def _words(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="words">(.*?)</script>', html)
    assert found, "no words for the scripts on the page"
    return dict(json.loads(found.group(1)))


def test_the_gate_and_stored_values_speak_french(clients: Any, people_archive: Archive) -> None:
    amina, eve = clients("amina"), clients("eve")
    item = _full_id(people_archive, _entry(amina))
    review = eve.get(f"/review/{item}", headers=FR).text
    assert "pas encore approuvé par une personne" in review  # the gate's reason
    assert "not approved by a person yet" not in review
    assert "<b>en attente</b>" in review and "texte ·" in review  # status and kind
    english = eve.get(f"/review/{item}", headers={"accept-language": "en"}).text
    assert "not approved by a person yet" in english and "<b>pending</b>" in english
    queue = eve.get("/review", headers=FR).text
    assert '<option value="pending" selected>en attente</option>' in queue  # the key stays
    assert '<option value="text">texte</option>' in queue
    assert "pas encore approuvé par une personne" in queue
    home = amina.get("/", headers=FR).text  # what was sent
    assert '<span class="muted">texte · ' in home and "en attente de revue" in home
    timeline = amina.get("/timeline", headers=FR).text
    assert '<time datetime="2016-10-24">lundi 24 octobre 2016</time>' in timeline  # per locale
    assert ">Monday 24 October 2016</time>" in amina.get("/timeline").text
    users = clients("root").get("/users", headers=FR).text
    assert '<option value="editor">éditeur·ice</option>' in users
    # The records keep their English: the gate says the same as the command line.
    assert people_archive.gate(item).reasons == ["not approved by a person yet"]
    form = {"csrf": token(eve, f"/review/{item}"), "reason": "shows a child"}
    assert eve.post(f"/review/{item}/withhold", data=form).status_code == 303
    decided = eve.get(f"/review/{item}", headers=FR).text
    assert "eve: retenu — shows a child" in decided  # the decision a word, the reason as typed
    assert "retenu : shows a child" in decided  # the gate's reason around the reviewer's words
    assert people_archive.gate(item).reasons == ["withheld: shows a child"]


def test_a_refused_upload_and_its_job_in_french(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    amina = clients("amina")
    fake = tmp_path / "IMG_0001.jpg"
    fake.write_text("<!doctype html><html><body>not a photo</body></html>", "utf-8")
    sent = amina.post(
        "/upload",
        data={"csrf": token(amina)},
        files=[("files", (fake.name, fake.read_bytes(), "application/octet-stream"))],
    )
    job_id = re.findall(r"/jobs/(\d+)", sent.headers["location"])[0]
    job = wait_job(amina, job_id)
    [rejected] = job["result"]["rejected"]
    assert rejected["reason"] == "markup (HTML/XML) content named .jpg"  # recorded in English
    page = amina.get(f"/jobs/{job_id}", headers=FR).text
    assert "<h1>Enregistrement #" in page and "terminée" in page  # job kind and state
    assert "IMG_0001.jpg: contenu balisé (HTML/XML) nommé .jpg" in page
    outcome = amina.get(f"/jobs/{job_id}/outcome.json", headers=FR).json()
    assert outcome["state"] == "refused"
    assert outcome["text"] == "refusé : contenu balisé (HTML/XML) nommé .jpg"
    listed = amina.get("/jobs", headers=FR).text
    assert f"enregistrement #{job_id}</a> amina — terminée" in listed


def test_error_pages_answer_in_french(
    clients: Any, people_archive: Archive, app_settings: ServeSettings
) -> None:
    amina, eve = clients("amina"), clients("eve")
    missing = eve.get(f"/items/{'0' * 64}", headers=FR_PAGE)
    assert missing.status_code == 404
    assert "<h1>Désolé</h1>" in missing.text and "aucun élément de ce nom" in missing.text
    assert eve.get(f"/items/{'0' * 64}", headers=EN_PAGE).text.count("no such item") == 1
    # A script (queue.js, upload.js) shows the plain text: in the phone's language too.
    assert eve.get(f"/items/{'0' * 64}", headers=FR).text == "aucun élément de ce nom\n"
    stale = amina.post("/entries", data={"text": "x"}, headers=FR_PAGE)
    assert stale.status_code == 403
    assert "le jeton de sécurité du formulaire manque ou a expiré : rechargez la page" in (
        stale.text
    )
    too_big = amina.post(
        "/entries",
        content=b"text=" + b"x" * app_settings.max_form_bytes,
        headers={**FR_PAGE, "content-type": "application/x-www-form-urlencoded"},
    )
    assert too_big.status_code == 413
    assert "la requête dépasse la limite de 1,048,576 octets pour un formulaire" in too_big.text
    empty = amina.post("/entries", data={"csrf": token(amina), "text": " "}, headers=FR_PAGE)
    assert empty.status_code == 400 and "écrivez d’abord quelque chose" in empty.text
    editors_only = amina.get("/people", headers=FR_PAGE)
    assert editors_only.status_code == 403 and "il faut le rôle éditeur·ice" in editors_only.text
    gone = eve.get("/site/index.html", headers=FR_PAGE)
    assert gone.status_code == 404 and "absent du site publié" in gone.text


def test_the_scripts_get_their_words_with_french_plurals(clients: Any) -> None:
    amina = clients("amina")
    french = _words(amina.get("/", headers=FR).text)
    assert french["sign in to send them"] == "connectez-vous pour les envoyer"
    assert french["%(n)s file"] == {
        "one": "%(n)s fichier",
        "many": "%(n)s fichiers",
        "other": "%(n)s fichiers",
    }
    assert french["%(n)s refused by the server"]["other"] == "%(n)s refusés par le serveur"
    english = _words(amina.get("/", headers={"accept-language": "en"}).text)
    assert english["%(n)s entry"] == {"one": "%(n)s entry", "other": "%(n)s entries"}
    # The offline shell, kept by the service worker, carries its words like any page.
    shell = _words(clients().get("/offline", headers=FR).text)
    assert shell["%(what)s waiting to be sent"] == "%(what)s en attente d’envoi"


def test_installable_icons_are_what_the_module_draws(clients: Any) -> None:
    anyone = clients()
    manifest = anyone.get("/manifest.webmanifest", headers=FR).json()
    assert manifest["lang"] == "fr" and "même hors ligne" in manifest["description"]
    pngs = {i["sizes"]: i for i in manifest["icons"] if i["type"] == "image/png"}
    assert {"192x192", "512x512"} <= set(pngs)
    assert any(i.get("purpose") == "maskable" for i in manifest["icons"])
    worker = anyone.get("/sw.js").text
    for icon in manifest["icons"]:
        served = anyone.get(icon["src"])
        assert served.status_code == 200, icon["src"]
        assert f'"{icon["src"]}"' in worker  # kept for the offline pages
        if icon["type"] != "image/png":
            continue
        name = icon["src"].rsplit("/", 1)[1]
        size, maskable = icons.ICONS[name]
        with Image.open(icons.STATIC / name) as committed:
            assert committed.size == (size, size) and icon["sizes"] == f"{size}x{size}"
            drawn = icons.draw(size, maskable)
            difference = ImageChops.difference(committed.convert("RGBA"), drawn)
            assert max(high for _, high in difference.getextrema()) <= 2, name
    with Image.open(icons.STATIC / "icon-maskable-512.png") as maskable_icon:
        assert maskable_icon.getpixel((0, 0))[3] == 255  # fills its square, corners included
    with Image.open(icons.STATIC / "icon-512.png") as plain:
        assert plain.getpixel((0, 0))[3] == 0  # rounded corners


@pytest.mark.browser
@BROWSER_MARKS[1]
def test_a_french_phone(browser: Any, server: LiveServer, tmp_path: Path) -> None:
    """``Accept-Language: fr`` from the browser's locale, on a 390-pixel-wide phone: every page
    in French, the scripts' words too, and no serious or critical axe-core violation."""
    # The offline shell as the service worker keeps it, under the app's own CSP (no bypass):
    # what is written there waits in the queue, worded by queue.js in French.
    shell = Phone(browser, server.url, locale="fr-FR")
    shell.page.goto(server.url + "/offline", wait_until="load")
    shell.page.fill("form[action='/entries']:not(:has(input[name=form])) textarea", "Bus partis")
    shell.page.click("form[action='/entries']:not(:has(input[name=form])) button[type=submit]")
    waiting = shell.page.locator("#queue .queue-count")
    waiting.filter(
        has_text="1 entrée en attente d’envoi (connectez-vous pour les envoyer)"
    ).wait_for()
    assert not [p for p in shell.problems if "401" not in p], shell.problems  # no CSP violation
    shell.context.close()

    amina = Phone(browser, server.url, axe=True, locale="fr-FR")
    page = amina.page
    page.goto(server.url + "/", wait_until="load")
    assert page.locator("h1").inner_text() == "Se connecter"
    assert amina.serious() == []
    amina.sign_in()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Envoyer des photos et des vidéos" in page.locator("main").inner_text()

    photo = make_photo(tmp_path / "IMG_0700.jpg", size=(800, 600), quality=90, seed=7)
    fake = tmp_path / "IMG_0701.jpg"
    fake.write_text("<!doctype html><html><body>not a photo</body></html>", "utf-8")
    page.set_input_files("#upload input[type=file]", [str(photo), str(fake)])
    page.click("#upload button[type=submit]")
    assert amina.settled("IMG_0700.jpg") == "IMG_0700.jpg: enregistré"
    assert amina.settled("IMG_0701.jpg") == (
        "IMG_0701.jpg: refusé : contenu balisé (HTML/XML) nommé .jpg"
    )
    bar = page.locator("#progress li", has_text="IMG_0700.jpg").locator("progress")
    assert bar.get_attribute("aria-label") == "envoi de IMG_0700.jpg"
    assert amina.serious() == []  # the upload page, with its lines

    page.fill("form[action='/entries']:not(:has(input[name=form])) textarea", "Bus partis")
    page.click("form[action='/entries']:not(:has(input[name=form])) button[type=submit]")
    page.wait_for_load_state("load")
    page.goto(server.url + "/", wait_until="load")
    sent = page.locator("main ul.plain").last.inner_text()
    assert "texte ·" in sent and "en attente de revue" in sent  # kind and outcome
    page.locator("main a", has_text=re.compile(r"^entry-")).first.click()
    page.locator("a[href$='/edit']").click()
    page.wait_for_url(re.compile(r"/entries/.*/edit$"))
    assert page.locator("h1").inner_text() == "Modifier une entrée"
    assert amina.serious() == []  # the entry page

    page.goto(server.url + "/", wait_until="load")
    _controlled(amina)
    amina.context.set_offline(True)
    page.fill("form[action='/entries']:not(:has(input[name=form])) textarea", "Hors réseau")
    page.click("form[action='/entries']:not(:has(input[name=form])) button[type=submit]")
    count = page.locator("#queue .queue-count")
    count.filter(has_text="1 entrée en attente d’envoi").wait_for()
    assert page.locator("#queue li").inner_text() == "entrée : Hors réseau: en attente"
    assert amina.serious() == []  # the queue, as queue.js words it
    amina.context.set_offline(False)
    count.filter(has_text="1 envoyé").wait_for(timeout=60_000)  # the verdict, shown once
    assert page.locator("#queue li").inner_text() == "entrée : Hors réseau: enregistré"
    page.reload(wait_until="load")
    page.locator("#queue").wait_for(state="detached", timeout=60_000)

    eve = Phone(browser, server.url, axe=True, locale="fr-FR")
    eve.sign_in("eve")
    eve.page.goto(server.url + "/review", wait_until="load")
    queue = eve.page.locator("main").inner_text()
    assert "Revue" in queue and "pas encore approuvé par une personne" in queue
    assert "texte · amina" in queue
    selected = eve.page.locator("select[name=status] option:checked").inner_text()
    assert selected == "en attente"
    assert eve.serious() == []  # the review queue
    assert not [p for p in amina.problems if "ERR_INTERNET_DISCONNECTED" not in p], amina.problems
    assert not eve.problems, eve.problems
