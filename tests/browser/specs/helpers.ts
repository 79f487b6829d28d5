import { type APIRequestContext, type Page, expect } from "@playwright/test";

export function uniqueEmail(what: string): string {
  return `${what}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** The development sign-in, through the sign-in page. */
export async function signIn(page: Page, email = uniqueEmail("user"), name = "Ada Lovelace"): Promise<string> {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Sign in (development)" }).click();
  await expect(page.getByRole("heading", { name: "Your resumes" })).toBeVisible();
  return email;
}

/** A new resume from the list page; returns its id (the editor is open on it). */
export async function newResume(page: Page): Promise<string> {
  await page.goto("/");
  await page.getByRole("button", { name: "New resume" }).click();
  await expect(page).toHaveURL(/\/resumes\/[0-9a-f-]{36}$/);
  await expect(page.locator(".save-status")).toContainText("All changes saved");
  return page.url().split("/").pop()!;
}

/** Waits until the editor says everything is saved, and returns the saved version; with
 * `after`, a version past it (an edit just made may not have marked the status unsaved yet
 * when this first looks). */
export async function saved(page: Page, after = 0): Promise<number> {
  const status = page.locator(".save-status");
  await expect(status).toHaveText(/All changes saved · version \d+/);
  if (after > 0) {
    await expect.poll(async () => Number(await status.getAttribute("data-version"))).toBeGreaterThan(after);
    await expect(status).toHaveText(/All changes saved · version \d+/);
  }
  return Number(await status.getAttribute("data-version"));
}

export async function serverResume(request: APIRequestContext, id: string): Promise<Record<string, any>> {
  const response = await request.get(`/api/resume/${id}`);
  expect(response.status()).toBe(200);
  return response.json();
}

export const EXPORT_FORMATS = ["native", "json-resume", "markdown", "text", "docx"];
