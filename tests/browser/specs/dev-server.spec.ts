// Vite's development server on its own port, sending /api to the gateway: the session
// cookie, the Origin check on unsafe requests (its origin is allowed) and a save all work.
import { expect, test } from "@playwright/test";
import { newResume, saved, serverResume, signIn } from "./helpers";

const DEV = process.env.RB_DEV_SERVER_URL;

test("the app works from the Vite dev server, its /api proxied to the gateway", async ({ browser }) => {
  test.skip(!DEV, "RB_DEV_SERVER_URL not set");
  const context = await browser.newContext({ baseURL: DEV });
  const page = await context.newPage();
  await signIn(page);
  const id = await newResume(page);
  const created = Number(await page.locator(".save-status").getAttribute("data-version"));
  await page.getByLabel("Name", { exact: true }).fill("From the dev server");
  await saved(page, created);
  expect((await serverResume(page.request, id)).contact.name).toBe("From the dev server");
  await context.close();
});
