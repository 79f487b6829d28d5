import { expect, test } from "@playwright/test";
import { newResume, saved, signIn, uniqueEmail } from "../specs/helpers";

const OUT = process.env.RB_SCREENSHOTS_DIR ?? "var/screenshots";

test("screenshots of the list, the editor and its PDF, history, the rating and a share page", async ({ page, browser }) => {
  await signIn(page, uniqueEmail("screenshots"), "Ada Lovelace");
  const id = await newResume(page);
  await page.getByLabel("Resume title").fill("Ada Lovelace: analyst");
  await page.getByLabel("Name", { exact: true }).fill("Ada Lovelace");
  await page.getByLabel("Headline").fill("Mathematician and first programmer");
  await page.getByLabel("Email").fill("ada@example.com");
  await page.getByRole("button", { name: "Add section" }).click();
  await page.getByRole("button", { name: "Add item to Experience" }).click();
  await page.getByLabel("Title", { exact: true }).fill("Analyst");
  await page.getByLabel("Organisation").fill("Analytical Engine");
  await page.getByRole("button", { name: "Add bullet" }).click();
  await page.getByRole("textbox", { name: "Bullet 1", exact: true }).fill("Wrote the first published algorithm for a machine");
  const version = await saved(page);
  await expect(page.locator(`iframe.pdf[data-loaded="${version}"]`)).toBeVisible();
  await page.waitForTimeout(500);  // the PDF viewer paints after its load event
  await page.screenshot({ path: `${OUT}/editor.png`, fullPage: true });

  await page.goto("/");
  await expect(page.getByRole("link", { name: "Ada Lovelace: analyst" })).toBeVisible();
  await page.screenshot({ path: `${OUT}/list.png`, fullPage: true });

  await page.goto(`/resumes/${id}/history`);
  await page.getByRole("button", { name: `View version ${version}` }).click();
  await expect(page.getByRole("heading", { name: `Version ${version}` })).toBeVisible();
  await page.screenshot({ path: `${OUT}/history.png`, fullPage: true });

  await page.goto(`/resumes/${id}/rating`);
  await page.getByRole("button", { name: "Rate the latest version" }).click();
  await expect(page.getByRole("button", { name: "Rate the latest version" })).toBeEnabled();
  await page.screenshot({ path: `${OUT}/rating.png`, fullPage: true });

  await page.goto(`/resumes/${id}/shares`);
  await page.getByRole("button", { name: "Create link" }).click();
  const href = (await page.locator(".share h2 a").first().getAttribute("href"))!;
  const visitor = await (await browser.newContext({ viewport: { width: 1000, height: 800 } })).newPage();
  await visitor.goto(href);
  await expect(visitor.getByText("Ada Lovelace").first()).toBeVisible();
  await visitor.screenshot({ path: `${OUT}/share.png`, fullPage: true });
  await page.reload();
  await page.screenshot({ path: `${OUT}/shares.png`, fullPage: true });
});
