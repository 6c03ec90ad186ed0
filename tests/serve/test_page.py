"""The page of `kerazoo serve` in a real headless Chromium (Debian's chromium and
chromium-driver, through Selenium): a real test digit drawn onto the canvas by script is
read by the page as the model reads it.

The screenshot is kept as a test artefact in $KERAZOO_TEST_ARTIFACTS (else the test's temp
folder); README's picture is docs/serve/page.png, taken the same way.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Offline and quiet: no first-run pages, updates, sync or background requests.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,860",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    # Not skipped: a page nobody opened is not tested. `make test` installs both packages.
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(
                f"{path} is missing: the page is tested in a real browser. Run `make test` "
                "(it installs Debian's chromium and chromium-driver) or `apt-get install "
                "chromium chromium-driver`."
            )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(300)
    driver.set_script_timeout(300)
    yield driver
    driver.quit()


# Paints the digit (rows of [value]) as SCALE x SCALE blocks onto the page's canvas, then
# lifts the pointer as a user does at the end of a stroke.
_DRAW = """
const [rows, done] = arguments;
const canvas = document.getElementById("draw");
const ctx = canvas.getContext("2d");
const scale = canvas.width / rows[0].length;
ctx.fillStyle = "#000";
ctx.fillRect(0, 0, canvas.width, canvas.height);
rows.forEach((row, y) => row.forEach((pixel, x) => {
  const v = pixel[0];
  ctx.fillStyle = `rgb(${v},${v},${v})`;
  ctx.fillRect(x * scale, y * scale, scale, scale);
}));
canvas.dispatchEvent(new PointerEvent("pointerup", {bubbles: true}));
done();
"""


def _label_after(driver, seq: int) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    def answered(d):
        result = d.find_element("id", "result")
        state, shown = result.get_attribute("data-state"), int(result.get_attribute("data-seq"))
        if state == "error":
            raise AssertionError(d.find_element("id", "error").text)
        return state == "done" and shown >= seq

    WebDriverWait(driver, 300, poll_frequency=0.2).until(answered)
    return driver.find_element("id", "top-label").text


def test_a_real_digit_drawn_on_the_canvas_gets_the_models_label(
    browser, digit_server, test_digits, tmp_path
):
    from selenium.webdriver.support.ui import WebDriverWait

    pixels, _, expected = test_digits
    browser.get(f"{digit_server.url}/")
    WebDriverWait(browser, 300).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-ready")
    )
    card = browser.find_element("id", "facts").text
    assert "mnist_sample" in card and "97.8%" in card  # the model card: dataset, test metric
    for seq, k in enumerate((3, 17, 29), start=1):  # three real held-out digits
        browser.execute_async_script(_DRAW, pixels[k].tolist())
        assert _label_after(browser, seq) == str(expected[k].argmax())
    bars = browser.find_elements("css selector", "#bars li")
    assert len(bars) == 5  # the top classes as bars
    shot = _keep_screenshot(browser, tmp_path)

    # A stroke with the mouse, as a user draws: the page answers again (the pointer handlers).
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = browser.find_element("id", "draw")
    browser.find_element("id", "clear").click()
    ActionChains(browser).move_to_element_with_offset(
        canvas, 0, -80
    ).click_and_hold().move_by_offset(0, 80).move_by_offset(0, 80).release().perform()
    assert _label_after(browser, 4) in [str(i) for i in range(10)]
    assert shot.read_bytes().startswith(b"\x89PNG")


def _keep_screenshot(browser, tmp_path):
    folder = Path(os.environ.get("KERAZOO_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "serve-page.png"
    assert browser.save_screenshot(str(shot))
    return shot
