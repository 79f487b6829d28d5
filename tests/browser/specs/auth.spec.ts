import { expect, test } from "@playwright/test";
import { signIn } from "./helpers";

test("Sign in with Google goes through the identity provider and back with a session", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin$/);
  await page.getByRole("button", { name: "Sign in with Google" }).click();
  await expect(page.getByRole("heading", { name: "Your resumes" })).toBeVisible();
  await expect(page.getByText(process.env.RB_GOOGLE_NAME ?? "Grace Hopper")).toBeVisible();
});

test("sign-out ends the session: the old cookie is refused afterwards", async ({ page, browser }) => {
  await signIn(page);
  const cookies = await page.context().cookies();
  expect((await page.request.get("/api/user/me")).status()).toBe(200);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in", exact: true })).toBeVisible();
  expect((await page.request.get("/api/user/me")).status()).toBe(401);
  const replay = await browser.newContext();
  await replay.addCookies(cookies);  // the cookie as it was before signing out
  expect((await replay.request.get("/api/user/me")).status()).toBe(401);
  await replay.close();
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin$/);
});
