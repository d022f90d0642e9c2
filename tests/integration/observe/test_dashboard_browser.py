"""The dashboard in a real headless browser (Debian's chromium + chromedriver): pages load,
show the jobs, a failed flow shows red, a link leads to a flow's rejects; a screenshot of
the status page is kept in test-artifacts/dashboard-status.png."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from legacy_bridge.sandbox.procs import free_port
from tests.fixtures.project import ROOT, Project
from tests.integration.observe.jobfile import fill_drop, job_toml

ARTIFACTS = ROOT / "test-artifacts"


def _browser_paths() -> tuple[str, str] | None:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chrome, driver) if chrome and driver else None


@pytest.fixture
def browser() -> Iterator[object]:
    paths = _browser_paths()
    if paths is None:
        if os.environ.get("LEGACY_BRIDGE_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium and chromedriver are required (apt-get install -y chromium chromium-driver)")
        pytest.skip("chromium/chromedriver not installed (apt-get install -y chromium chromium-driver); "
                    "set LEGACY_BRIDGE_REQUIRE_BROWSER=1 to make this a failure")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def serve(project: Project, port: int, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("LEGACY_BRIDGE_STATE", None)
    proc = subprocess.Popen([sys.executable, "-m", "legacy_bridge", "serve", "--port", str(port), *extra],
                            cwd=project.root, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}") from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the dashboard did not come up")


def _project_with_runs(project: Project) -> None:
    project.write_job("erp_to_crm", job_toml("http://127.0.0.1:9/unused"))
    fill_drop(project.root)
    bad = project.root / "drop" / "orders" / "ORDERS_2099.csv"
    bad.write_bytes(b"ERP EXPORT\r\nORDER_NO;CUSTNO;SHIP_CITY;SHIP_COUNTRY\r\n99001;bad customer;Lyon;France\r\n")
    project.cli("run", "erp_to_crm", "--flow", "orders", check=True)  # sends, with one reject
    project.cli("run", "erp_to_crm", "--flow", "orders_archive")  # fails: its drop folder is missing


def test_dashboard_pages_in_a_headless_browser(project: Project, browser: object) -> None:
    from selenium.webdriver.common.by import By

    _project_with_runs(project)
    port = free_port()
    server = serve(project, port)
    driver = browser  # type: ignore[assignment]
    try:
        base = f"http://127.0.0.1:{port}"
        driver.get(base + "/")  # type: ignore[attr-defined]
        assert driver.title == "Status"  # type: ignore[attr-defined]
        rows = driver.find_elements(By.CSS_SELECTOR, "#status tbody tr")  # type: ignore[attr-defined]
        text = {r.find_elements(By.TAG_NAME, "td")[1].text: r for r in rows}
        assert set(text) == {"orders", "orders_archive"}
        assert "fail" in text["orders_archive"].get_attribute("class")
        badge = text["orders_archive"].find_element(By.CSS_SELECTOR, ".badge")
        assert badge.text == "failed" and "255, 217, 217" in badge.value_of_css_property("background-color")
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dashboard-status.png"))  # type: ignore[attr-defined]

        text["orders"].find_element(By.CSS_SELECTOR, "a.rejects").click()
        assert driver.title == "Open rejects of erp_to_crm / orders"  # type: ignore[attr-defined]
        cells = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#rejects tbody tr td")]  # type: ignore[attr-defined]
        assert "ORDERS_2099.csv" in " ".join(cells) and "bad customer" in cells

        driver.find_element(By.LINK_TEXT, "Catalog").click()  # type: ignore[attr-defined]
        assert driver.find_element(By.ID, "mapping-erp_to_crm-orders").is_displayed()  # type: ignore[attr-defined]
        assert driver.find_elements(By.TAG_NAME, "svg")  # type: ignore[attr-defined]

        driver.get(base + "/history/erp_to_crm?flow=orders_archive")  # type: ignore[attr-defined]
        assert "does not exist" in driver.find_element(By.ID, "history").text  # type: ignore[attr-defined]
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            assert 'legacy_bridge_flow_healthy{job="erp_to_crm",flow="orders_archive"} 0' in r.read().decode()
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_dashboard_basic_auth(project: Project) -> None:
    _project_with_runs(project)
    port = free_port()
    server = serve(project, port, "--basic-auth-user", "ops", "--basic-auth-password-env", "DASH_PW",
                   env={"DASH_PW": "s3cret-dash"})
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(f"http://127.0.0.1:{port}/",
                                         headers={"Authorization": "Basic b3BzOnMzY3JldC1kYXNo"})
        with urllib.request.urlopen(request, timeout=10) as r:
            assert "orders_archive" in r.read().decode()
    finally:
        server.terminate()
        server.communicate(timeout=30)
