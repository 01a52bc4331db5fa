// segue web's page in Debian's Firefox ESR, headless, driven over WebDriver BiDi by puppeteer-core
// (no browser download). Run by tests/web/test_web_firefox.py:
//   node check_page.mjs URL TAKE_A TAKE_B NOT_A_MOVIE
// Prints one JSON object of what it saw; exits 1 with the reason when a step fails.
import puppeteer from "puppeteer-core";

const [url, takeA, takeB, fake] = process.argv.slice(2);
const FIREFOX = process.env.SEGUE_FIREFOX || "/usr/bin/firefox-esr";
const SAFETY = 120000; // ms: a net for a hang, not an expectation
const seen = {};

const browser = await puppeteer.launch({ browser: "firefox", executablePath: FIREFOX, headless: true });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(SAFETY);
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']");

  // a refusal is a message
  await (await page.$("#file-a")).uploadFile(fake);
  await page.waitForSelector("#message:not([hidden])");
  seen.refusal = await page.$eval("#message", (e) => e.textContent);

  // two takes, 4 frames, the result beside the dissolve
  await (await page.$("#file-a")).uploadFile(takeA);
  await (await page.$("#file-b")).uploadFile(takeB);
  await page.waitForSelector("#info-b:not([hidden])");
  seen.info = await page.$eval("#info-a", (e) => e.textContent);
  await page.$eval("#frames", (e) => { e.value = "4"; });
  await page.select("#model", "classic");
  await page.click("#render");
  await page.waitForSelector("#result:not([hidden])");
  await page.waitForFunction(() => [...document.querySelectorAll("#result video")].every((v) => v.readyState >= 2));
  seen.thumbs = await page.$$eval("#thumbs li", (items) => items.length);
  seen.videos = await page.$$eval("#result video", (vs) => vs.map((v) => v.duration > 0));
  seen.metrics = await page.$$eval("#metrics tr", (rows) => rows.length);
  seen.download = await page.$eval("#download-zip", (a) => a.getAttribute("href"));

  // a phone-width window: nothing runs off the side
  await page.setViewport({ width: 390, height: 844 });
  seen.phoneWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  console.log(JSON.stringify(seen));
} catch (error) {
  console.error(`${error.message}\nseen so far: ${JSON.stringify(seen)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
