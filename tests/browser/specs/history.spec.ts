import { expect, test } from "@playwright/test";
import { newResume, saved, signIn } from "./helpers";

test("history lists every version with what changed; any version can be viewed and restored", async ({ page }) => {
  await signIn(page);
  const id = await newResume(page);
  const name = page.getByLabel("Name", { exact: true });
  await name.fill("First draft");
  expect(await saved(page)).toBe(2);
  await name.fill("Second draft");
  expect(await saved(page)).toBe(3);

  await page.getByRole("link", { name: "History" }).click();
  await expect(page).toHaveURL(`/resumes/${id}/history`);
  const rows = page.locator("table.history tbody tr");
  await expect(rows).toHaveCount(3);
  for (const row of await rows.all()) await expect(row.locator("td").nth(1)).not.toBeEmpty();

  await page.getByRole("button", { name: "View version 2" }).click();
  await expect(page.getByRole("heading", { name: "Version 2" })).toBeVisible();
  await expect(page.locator("article.version")).toContainText("First draft");

  await page.getByRole("button", { name: "Restore version 2" }).click();
  await expect(page).toHaveURL(`/resumes/${id}`);
  await expect(name).toHaveValue("First draft");
  expect(await saved(page)).toBe(4);
});
