import { expect, test } from "@playwright/test";
import { newResume, signIn } from "./helpers";

test("create, duplicate, delete to the trash and restore from it", async ({ page }) => {
  await signIn(page);
  await newResume(page);
  await page.getByLabel("Resume title").fill("Lighthouse keeper");
  await expect(page.locator(".save-status")).toContainText("All changes saved · version 2");
  await page.getByRole("link", { name: "Resumes", exact: true }).click();
  await expect(page.getByRole("link", { name: "Lighthouse keeper" })).toBeVisible();

  await page.getByRole("button", { name: "Duplicate Lighthouse keeper" }).click();
  await expect(page.getByRole("link", { name: "Lighthouse keeper (copy)" })).toBeVisible();

  await page.getByRole("button", { name: "Delete Lighthouse keeper (copy)" }).click();
  await expect(page.getByRole("status").filter({ hasText: "to the trash" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Lighthouse keeper (copy)" })).toHaveCount(0);

  await page.getByRole("link", { name: "Trash" }).click();
  await page.getByRole("button", { name: "Restore Lighthouse keeper (copy)" }).click();
  await expect(page.getByText("Restored “Lighthouse keeper (copy)”")).toBeVisible();
  await page.getByRole("link", { name: "Resumes", exact: true }).click();
  await expect(page.getByRole("link", { name: "Lighthouse keeper (copy)" })).toBeVisible();
});
