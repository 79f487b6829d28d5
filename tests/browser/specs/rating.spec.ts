import { expect, test } from "@playwright/test";
import { newResume, saved, signIn } from "./helpers";

test("the rating scorecard shows the overall score, sections and suggestions", async ({ page }) => {
  await signIn(page);
  const id = await newResume(page);
  await page.getByLabel("Name", { exact: true }).fill("Rated Person");
  await saved(page);
  await page.getByRole("link", { name: "Rating" }).click();
  await expect(page).toHaveURL(`/resumes/${id}/rating`);
  await page.getByRole("button", { name: "Rate the latest version" }).click();
  await expect(page.getByTestId("overall")).toHaveText("78", { timeout: 30_000 });
  await expect(page.getByRole("table")).toContainText("Experience");
  await expect(page.getByText("Quantify the result of the first bullet.")).toBeVisible();
  await page.reload();  // the latest rating is read back
  await expect(page.getByTestId("overall")).toHaveText("78");
});
