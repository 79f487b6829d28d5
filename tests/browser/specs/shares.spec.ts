import { expect, test } from "@playwright/test";
import { newResume, saved, signIn } from "./helpers";

const PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";

test("a share link shows the resume to anyone, counts the view, and is gone once revoked", async ({ page, browser }) => {
  await signIn(page);
  const id = await newResume(page);
  await page.getByLabel("Name", { exact: true }).fill("Shared Person");
  await page.getByLabel("Email").fill("shared@example.com");
  await saved(page);
  await page.getByRole("link", { name: "Share", exact: true }).click();
  await expect(page).toHaveURL(`/resumes/${id}/shares`);
  await page.getByRole("checkbox", { name: "email" }).check();
  await page.getByRole("button", { name: "Create link" }).click();
  const link = page.locator(".share h2 a");
  await expect(link).toHaveCount(1);
  await expect(page.getByTestId("views")).toHaveText("0");
  const url = (await link.getAttribute("href"))!;

  // a person's browser: headless chromium's own user agent counts as a bot's view
  const stranger = await browser.newContext({ userAgent: PERSON });
  const visitor = await stranger.newPage();
  await visitor.goto(url);
  await expect(visitor.getByText("Shared Person").first()).toBeVisible();
  await expect(visitor.getByText("shared@example.com")).toHaveCount(0);  // hidden from the link
  // the owner's page hears of the view (event stream) and shows the new count
  await expect(page.getByTestId("views")).toHaveText("1", { timeout: 20_000 });

  await page.getByRole("button", { name: "Revoke" }).click();
  await expect(page.locator(".share.revoked")).toHaveCount(1);
  expect((await visitor.request.get(url)).status()).toBe(404);
  await stranger.close();
});
