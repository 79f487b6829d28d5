// Playwright's runner for the browser tests (tests/browser/test_in_browser.py starts the
// stack and runs this): Debian's chromium, headless, a fresh profile per context; a
// screenshot of the page of every failed test lands in var/browser-results.
import { defineConfig } from "@playwright/test";

export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export default defineConfig({
  testDir: "./specs",
  outputDir: process.env.RB_BROWSER_OUTPUT ?? "../../var/browser-results",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: Number(process.env.RB_BROWSER_WORKERS ?? 2),
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env.RB_BASE_URL ?? "http://127.0.0.1:8000",
    headless: true,
    screenshot: "only-on-failure",
    trace: "off",
    launchOptions: { executablePath: process.env.RB_CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS },
  },
});
