import { expect, test } from "@playwright/test";
import { newResume, saved, signIn, uniqueEmail } from "./helpers";

test("account export: one zip of everything, downloadable once ready", async ({ page }) => {
  await signIn(page);
  await newResume(page);
  await page.getByLabel("Name", { exact: true }).fill("Exported Person");
  await saved(page);
  await page.getByRole("link", { name: "Account" }).click();
  await page.getByRole("button", { name: "Export my data" }).click();
  const link = page.getByRole("link", { name: "Download the archive" });
  await expect(link).toBeVisible({ timeout: 45_000 });
  const archive = await page.request.get((await link.getAttribute("href"))!);
  expect(archive.status()).toBe(200);
  expect(archive.headers()["content-type"]).toBe("application/zip");
  expect((await archive.body()).subarray(0, 2).toString()).toBe("PK");
});

test("account erasure: confirmed by email, signs out and reports when every service is done", async ({ page }) => {
  const email = await signIn(page, uniqueEmail("erased"));
  await newResume(page);
  await page.getByRole("link", { name: "Account" }).click();
  const erase = page.getByRole("button", { name: "Erase my account" });
  await expect(erase).toBeDisabled();
  await page.getByLabel(/Type your email/).fill(email);
  await erase.click();
  await expect(page.getByRole("heading", { name: "Sign in", exact: true })).toBeVisible();
  await expect(page.getByTestId("erasure")).toHaveText("Your account has been erased.", { timeout: 45_000 });
  expect((await page.request.get("/api/user/me")).status()).toBe(401);
});
