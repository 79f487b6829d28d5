// `make screenshots`: PNGs of the main pages from a running stack (`make up`, or RB_BASE_URL)
// into var/screenshots/. Not a test suite: one script run by Playwright's runner.
import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS } from "./playwright.config";

export default defineConfig({
  testDir: "./screenshots",
  outputDir: "../../var/screenshots/results",
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: process.env.RB_BASE_URL ?? "http://127.0.0.1:8000",
    headless: true,
    viewport: { width: 1440, height: 960 },
    launchOptions: { executablePath: process.env.RB_CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS },
  },
});
