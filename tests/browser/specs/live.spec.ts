import { expect, test } from "@playwright/test";
import { newResume, saved, signIn } from "./helpers";

test("a save in one tab shows up in another tab of the same resume", async ({ context, page }) => {
  await signIn(page);
  const id = await newResume(page);
  const other = await context.newPage();
  await other.goto(`/resumes/${id}`);
  await saved(other);
  await page.getByLabel("Resume title").fill("Seen from the other tab");
  const version = await saved(page);
  await expect(other.getByRole("heading", { level: 1 })).toHaveText("Seen from the other tab");
  await expect(other.getByLabel("Resume title")).toHaveValue("Seen from the other tab");
  await expect(other.locator(".save-status")).toHaveAttribute("data-version", String(version));
  // and the list in a third tab follows too
  const list = await context.newPage();
  await list.goto("/");
  await page.getByLabel("Resume title").fill("Renamed again");
  await expect(list.getByRole("link", { name: "Renamed again" })).toBeVisible();
});
