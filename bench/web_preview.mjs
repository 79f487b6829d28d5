// Driven by bench/web_preview.py: in Debian's chromium, sign in on the stack at argv[2], open a
// new resume (Typst template `standard`) in the editor, then save N times (one edit each,
// waiting for its preview) and print, as JSON, each save's time from the PUT being sent to the
// PDF of that version loaded in the preview frame (the app's `save-to-preview` measures).
import { chromium } from "playwright-core";

const [base, saves = "20"] = process.argv.slice(2);
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ARGS });
try {
  const page = await (await browser.newContext({ baseURL: base })).newPage();
  await page.goto("/signin");
  await page.getByLabel("Email").fill(`bench-${Date.now()}@example.com`);
  await page.getByRole("button", { name: "Sign in (development)" }).click();
  await page.getByRole("button", { name: "New resume" }).click();
  await page.waitForURL(/\/resumes\//);
  const name = page.getByLabel("Name", { exact: true });
  const measured = () => page.evaluate(() => performance.getEntriesByName("save-to-preview").map((e) => e.duration));
  for (let n = 0; n <= Number(saves); n++) {  // the first save warms up: not counted
    const before = (await measured()).length;
    await name.fill(`Bench Person ${n}`);
    await page.waitForFunction((count) => performance.getEntriesByName("save-to-preview").length > count, before,
      { timeout: 30_000 });
  }
  const durations = (await measured()).slice(1);
  const of = async (name) => (await page.evaluate((n) => performance.getEntriesByName(n).map((e) => e.duration), name)).slice(1);
  process.stdout.write(JSON.stringify({ durations, compiled: await of("save-to-compiled"), answered: await of("save-answered") }) + "\n");
} finally {
  await browser.close();
}
