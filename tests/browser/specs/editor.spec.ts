import { expect, test } from "@playwright/test";
import { newResume, saved, serverResume, signIn } from "./helpers";

test("the editor saves contact, sections, items, bullets, their order and the locale", async ({ page }) => {
  await signIn(page);
  const id = await newResume(page);
  await page.getByLabel("Resume title").fill("Analytical engines");
  await page.getByLabel("Name", { exact: true }).fill("Ada Lovelace");
  await page.getByLabel("Email").fill("ada@example.com");
  await page.getByLabel("Language (locale)").selectOption("de");

  await page.getByRole("button", { name: "Add section" }).click();
  await page.getByRole("button", { name: "Add item to Experience" }).click();
  await page.getByLabel("Title", { exact: true }).fill("Analyst");
  await page.getByLabel("Organisation").fill("Engines Ltd");
  await page.getByRole("button", { name: "Add bullet" }).click();
  await page.getByRole("textbox", { name: "Bullet 1", exact: true }).fill("Wrote the first program");
  await page.getByRole("button", { name: "Add bullet" }).click();
  await page.getByRole("textbox", { name: "Bullet 2", exact: true }).fill("Described loops");

  await page.getByRole("button", { name: "Add section" }).click();
  await page.getByRole("textbox", { name: "Section title" }).nth(1).fill("Education");
  // keyboard: Alt+ArrowUp on the handle moves Education above Experience
  await page.getByRole("button", { name: /^Drag section Education/ }).press("Alt+ArrowUp");
  await expect(page.getByRole("textbox", { name: "Section title" }).first()).toHaveValue("Education");
  // drag: bullet 2's handle dropped on bullet 1
  await page.getByRole("button", { name: /^Drag bullet 2/ }).dragTo(page.getByRole("button", { name: /^Drag bullet 1/ }));
  await expect(page.getByRole("textbox", { name: "Bullet 1", exact: true })).toHaveValue("Described loops");

  await saved(page);
  const resume = await serverResume(page.request, id);
  expect(resume.title).toBe("Analytical engines");
  expect(resume.contact.name).toBe("Ada Lovelace");
  expect(resume.locale).toBe("de");
  expect(resume.sections.map((s: { title: string }) => s.title)).toEqual(["Education", "Experience"]);
  expect(resume.sections[1].items[0].title).toBe("Analyst");
  expect(resume.sections[1].items[0].bullets).toEqual(["Described loops", "Wrote the first program"]);
});

test("each save is compiled and its PDF shown beside the editor, with pages and the ATS report", async ({ page }) => {
  await signIn(page);
  const id = await newResume(page);
  const created = Number(await page.locator(".save-status").getAttribute("data-version"));
  await page.getByLabel("Name", { exact: true }).fill("Charles Babbage");
  const version = await saved(page, created);
  const frame = page.locator(`iframe.pdf[data-loaded="${version}"]`);
  await expect(frame).toBeVisible({ timeout: 30_000 });
  await expect(page.locator(".compile-status")).toHaveText(`Version ${version}: 1 page`);
  const pdf = await page.request.get((await frame.getAttribute("src"))!);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()["content-type"]).toBe("application/pdf");
  expect((await pdf.body()).subarray(0, 5).toString()).toBe("%PDF-");
  await expect(page.getByRole("heading", { name: "ATS report" })).toBeVisible({ timeout: 30_000 });

  // the template picker and its options compile again, the same version
  await page.getByLabel("Template").selectOption("compact");
  const next = await saved(page);
  expect(next).toBe(version + 1);
  await expect(page.locator(`iframe.pdf[data-loaded="${next}"]`)).toBeVisible({ timeout: 30_000 });
  expect((await serverResume(page.request, id)).template).toBe("compact");
  const options = page.getByRole("group", { name: "Options of compact" });
  await expect(options).toBeVisible();
  // an option compiles the same version again, as a job of its own
  const shownJob = await page.locator("iframe.pdf").getAttribute("src");
  await options.getByLabel(/^font size/).fill("11");
  await expect(page.locator("iframe.pdf")).not.toHaveAttribute("src", shownJob!, { timeout: 30_000 });
  await expect(page.locator(`iframe.pdf[data-loaded="${next}"]`)).toBeVisible({ timeout: 30_000 });
});

test("a one-page template that runs over shows the overflow warning and the page count", async ({ page }) => {
  await signIn(page);
  const bullets = Array.from({ length: 25 }, (_, i) => `Achievement number ${i + 1}: ${"measured and shipped ".repeat(6)}`);
  const items = Array.from({ length: 6 }, (_, i) => ({ title: `Role ${i + 1}`, subtitle: "Company", bullets }));
  const created = await page.request.post("/api/resume/create", {
    headers: { Origin: new URL(page.url()).origin },  // what the browser would send
    data: { title: "Far too long", template: "compact", contact: { name: "Verbose Person" },
      sections: [{ title: "Experience", kind: "experience", items }] },
  });
  expect(created.status()).toBe(201);
  const { id, version } = await created.json();
  await page.goto(`/resumes/${id}`);
  await expect(page.locator(`iframe.pdf[data-loaded="${version}"]`)).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("alert")).toContainText("Overflow: this one-page template runs");
  await expect(page.locator(".compile-status")).toHaveText(/Version \d+: [2-9]\d* pages/);
});
