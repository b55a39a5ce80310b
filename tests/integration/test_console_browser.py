"""The console in a real headless Chromium, on the whole system running on a real nats-server.

`make screenshots` (CRISIS_SCREENSHOTS=docs/screenshots) also saves the main views as PNG files.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from schemas.envelope import Status, utc_now
from schemas.events import IncidentReported
from schemas.values import GeoPoint, IncidentKind, Location, Severity
from services.auth.principals import act_subject
from services.cell.app import CellService
from services.cell.people import Role, add_person
from services.console.app import ConsoleService
from services.demo.scenario import tempete_alex
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.intake.app import IntakeService
from services.picture.app import PictureService
from services.plans.app import PlansService
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.system import CrisisSystem

pytestmark = pytest.mark.integration

PASSWORD = "mot de passe de test"
CRISIS = "crue-vesubie"
PLANS = Path(__file__).parents[2] / "services" / "plans" / "departements"
SHOTS = os.environ.get("CRISIS_SCREENSHOTS")


class Running:
    """The whole system in a background thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.system: CrisisSystem | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def start(self) -> None:
        engine = make_engine(self.settings.database_url)
        await upgrade(engine)
        await engine.dispose()
        services = [
            cls(self.settings)
            for cls in (
                EventLogService,
                PictureService,
                IntakeService,
                CellService,
                PlansService,
                ConsoleService,
            )
        ]
        self.system = CrisisSystem(self.settings, services, announce=False)
        await self.system.start()

    async def act(self, actor: str, **command: Any) -> dict[str, Any]:
        assert self.system is not None
        assert self.system.bus is not None
        body = orjson.dumps({"command": {"crisis_id": CRISIS, **command}})
        reply = await self.system.bus.nc.request(act_subject(actor), body, timeout=15)
        answer: dict[str, Any] = orjson.loads(reply.data)
        return answer

    @property
    def url(self) -> str:
        assert self.system is not None
        return str(next(s for s in self.system.services if s.name == "console").url)

    def stop(self) -> None:
        if self.system is not None:
            self.run(self.system.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture
def running(nats_server: EmbeddedNatsServer, settings: Settings) -> Iterator[Running]:
    """Every service on the test server, three people, a crisis open with a plan proposed."""
    wired = settings.model_copy(
        update={
            "nats_url": nats_server.url,
            "picture_port": 0,
            "intake_port": 0,
            "console_port": 0,
            "plans_dir": PLANS,
            "console_tiles_url": "",
        }
    )
    for ident, role, name in (
        ("dircab", Role.DIRECTOR, "Directeur de cabinet"),
        ("op.martin", Role.OPERATOR, "Paul Martin"),
        ("obs.ars", Role.OBSERVER, "ARS"),
    ):
        add_person(wired.people_path, ident, role, name, PASSWORD)
    system = Running(wired)
    system.run(system.start())
    try:
        opened = system.run(
            system.act(
                "dircab",
                act="open_crisis",
                name="Crues de la Vésubie",
                departement="06",
                nature="inondation",
                exercise=True,
            )
        )
        assert opened["ok"], opened
        yield system
    finally:
        system.stop()


@pytest.fixture
def browsers() -> Iterator[list[WebDriver]]:
    """Headless Chromium windows, closed at the end."""
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        pytest.fail("Debian's chromium and chromium-driver are needed: run `make browser`")
    opened: list[WebDriver] = []
    yield opened
    for driver in opened:
        driver.quit()


def _browser(browsers: list[WebDriver], width: int = 1366, height: int = 768) -> WebDriver:
    options = Options()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--lang=fr-FR",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(
        options=options, service=ChromeService(shutil.which("chromedriver") or "chromedriver")
    )
    driver.implicitly_wait(0)
    browsers.append(driver)
    return driver


def _wait(driver: WebDriver, seconds: float = 15) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)


def _log_in(driver: WebDriver, url: str, ident: str) -> None:
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "ident").send_keys(ident)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(driver).until(ready.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=role]")))
    _choose_crisis(driver)


def _choose_crisis(driver: WebDriver) -> None:
    def has_crisis(d: WebDriver) -> bool:
        options = d.find_elements(
            By.CSS_SELECTOR, f"[data-testid=crisis-select] option[value='{CRISIS}']"
        )
        return bool(options)

    _wait(driver).until(has_crisis)
    Select(driver.find_element(By.CSS_SELECTOR, "[data-testid=crisis-select]")).select_by_value(
        CRISIS
    )


def _testid(driver: WebDriver, name: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, f"[data-testid={name}]")


def _shot(driver: WebDriver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def test_a_wrong_password_is_refused_with_a_message(
    running: Running, browsers: list[WebDriver]
) -> None:
    driver = _browser(browsers)
    driver.get(f"{running.url}/login")
    _shot(driver, "login")
    driver.find_element(By.ID, "ident").send_keys("op.martin")
    driver.find_element(By.ID, "password").send_keys("wrong password!")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(driver).until(ready.url_contains("error=1"))
    assert "incorrect" in driver.find_element(By.TAG_NAME, "body").text


def test_an_incident_reported_on_one_page_appears_on_another_without_reload(
    running: Running, browsers: list[WebDriver]
) -> None:
    operator, observer = _browser(browsers), _browser(browsers, 1920, 1080)
    _log_in(operator, running.url, "op.martin")
    _log_in(observer, running.url, "obs.ars")
    assert _testid(operator, "role").text
    assert "EXERCICE" in _testid(observer, "exercise-banner").text
    marker = observer.execute_script("return window.performance.timeOrigin")

    _testid(operator, "report-incident").click()
    _wait(operator).until(ready.visibility_of_element_located((By.ID, "incident-title")))
    Select(operator.find_element(By.ID, "incident-kind")).select_by_value("inondation")
    Select(operator.find_element(By.ID, "incident-severity")).select_by_value("severe")
    operator.find_element(By.ID, "incident-title").send_keys("Pont emporté à Lantosque")
    operator.find_element(By.ID, "incident-where").send_keys("Lantosque, RD 2565")
    operator.find_element(By.ID, "incident-insee").send_keys("06074")
    _testid(operator, "submit-incident").click()

    seen = "[data-testid=incident-list] li[data-incident-id]"
    _wait(observer).until(
        lambda d: any("Pont emporté" in li.text for li in d.find_elements(By.CSS_SELECTOR, seen))
    )
    # Live: the observer's page was not reloaded.
    assert observer.execute_script("return window.performance.timeOrigin") == marker
    _shot(observer, "console-shared-screen-1920")


def test_a_director_activates_the_plan_the_rules_proposed_and_an_observer_is_refused(
    running: Running, browsers: list[WebDriver]
) -> None:
    async def flood() -> None:
        # Storm Alex's first hours, before anyone decided: the rules must propose the plan.
        assert running.system is not None
        undecided = [e for e in tempete_alex(CRISIS)[1:30] if not e.type.startswith("plan.")]
        for event in undecided:
            await publish_event(running.system.js, event)

    running.run(flood())
    director = _browser(browsers)
    _log_in(director, running.url, "dircab")
    row = "[data-testid=plan-row][data-plan-code=orsec-inondation]"
    _wait(director).until(ready.presence_of_element_located((By.CSS_SELECTOR, row)))
    _shot(director, "console-director-1366")
    button = director.find_element(By.CSS_SELECTOR, f"{row} [data-testid=activate-plan]")
    button.click()
    _wait(director).until(
        lambda d: (
            "activ" in d.find_element(By.CSS_SELECTOR, row).text.lower()
            and not d.find_elements(By.CSS_SELECTOR, f"{row} [data-testid=activate-plan]")
        )
    )

    observer = _browser(browsers)
    _log_in(observer, running.url, "obs.ars")
    for control in ("report-incident", "add-entry", "activate-plan", "draft-alert"):
        shown = observer.find_elements(By.CSS_SELECTOR, f"[data-testid={control}]")
        assert not any(element.is_displayed() for element in shown), control
    # Even a hand-made request from the observer's page is refused by the server.
    status = observer.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch('/api/me').then(r => r.json()).then(me => fetch(
            '/api/crises/crue-vesubie/act', {method: 'POST',
             headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
             body: JSON.stringify({act: 'deactivate_plan', plan_code: 'orsec-inondation'})}))
        .then(r => done(r.status));"""
    )
    assert status == 403
    _shot(observer, "console-observer-1366")


def test_the_review_view_shows_the_picture_as_the_cell_knew_it_and_allows_no_act(
    running: Running, browsers: list[WebDriver]
) -> None:
    async def flood() -> None:
        assert running.system is not None
        for event in tempete_alex(CRISIS)[1:40]:
            await publish_event(running.system.js, event)

    running.run(flood())
    operator = _browser(browsers)
    _log_in(operator, running.url, "op.martin")
    incidents = "[data-testid=incident-list] li[data-incident-id]"
    _wait(operator).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, incidents)) >= 3)
    _testid(operator, "review-toggle").click()
    _wait(operator).until(
        ready.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=review-badge]"))
    )
    assert not any(
        e.is_displayed()
        for e in operator.find_elements(By.CSS_SELECTOR, "[data-testid=report-incident]")
    )
    slider = _testid(operator, "review-slider")
    slider.send_keys(Keys.HOME)  # the first event: nothing reported yet
    _wait(operator).until(lambda d: not d.find_elements(By.CSS_SELECTOR, incidents))
    assert "REVUE" in _testid(operator, "review-badge").text
    _shot(operator, "console-review-1366")
    slider.send_keys(Keys.END)
    _wait(operator).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, incidents)) >= 3)


MARKUP = (
    "<img src=x onerror=\"document.title='pwned'\">"
    '<meta http-equiv="refresh" content="0;url=about:blank"><b>Crue</b>'
)


def test_markup_in_an_incident_title_is_shown_as_text_and_never_runs(
    running: Running, browsers: list[WebDriver]
) -> None:
    async def hostile() -> None:
        # Published as an event: whatever the intake strips, the console must hold on its own.
        assert running.system is not None
        now = utc_now()
        await publish_event(
            running.system.js,
            IncidentReported(
                crisis_id=CRISIS,
                status=Status.EXERCISE,
                occurred_at=now - timedelta(minutes=1),
                received_at=now,
                source="geojson-feed",
                actor="feed:geojson",
                incident_id="inc-hostile",
                kind=IncidentKind.INONDATION,
                severity=Severity.SEVERE,
                title=MARKUP,
                location=Location(
                    description=MARKUP, point=GeoPoint(lat=43.98, lon=7.29), insee_codes=[]
                ),
            ),
        )

    running.run(hostile())
    director = _browser(browsers)
    _log_in(director, running.url, "dircab")
    title = director.title
    entry = "[data-testid=incident-list] li[data-incident-id=inc-hostile]"
    _wait(director).until(ready.presence_of_element_located((By.CSS_SELECTOR, entry)))
    assert "<b>Crue</b>" in director.find_element(By.CSS_SELECTOR, entry).text

    shape = director.find_element(By.CSS_SELECTOR, "#map path.leaflet-interactive")
    ActionChains(director).move_to_element(shape).perform()  # the tooltip
    tooltip = _wait(director).until(
        ready.visibility_of_element_located((By.CSS_SELECTOR, ".leaflet-tooltip"))
    )
    assert "<b>Crue</b>" in tooltip.text
    director.find_element(By.CSS_SELECTOR, f"{entry} .incident-title").click()  # the popup
    popup = _wait(director).until(
        ready.visibility_of_element_located((By.CSS_SELECTOR, ".leaflet-popup-content"))
    )
    assert "<b>Crue</b>" in popup.text

    made = director.execute_script(
        """return [...document.querySelectorAll(
            "img[src=x], meta[http-equiv], #map b, [data-testid=incident-list] b")].length"""
    )
    assert made == 0
    assert director.title == title != "pwned"
    assert director.current_url.startswith(running.url)
