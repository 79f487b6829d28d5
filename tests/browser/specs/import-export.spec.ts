import { expect, test } from "@playwright/test";
import { EXPORT_FORMATS, newResume, saved, signIn } from "./helpers";

const JSON_RESUME = {
  basics: { name: "Imported Person", email: "imported@example.com", label: "Surveyor" },
  work: [{ name: "Ordnance Survey", position: "Surveyor", startDate: "1820", highlights: ["Mapped the coast"] }],
};

test("a JSON Resume file is imported into a new resume", async ({ page }) => {
  await signIn(page);
  await page.getByLabel(/A JSON Resume or native export/).setInputFiles({
    name: "resume.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(JSON_RESUME)),
  });
  await expect(page).toHaveURL(/\/resumes\/[0-9a-f-]{36}$/);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Imported Person");
  await expect(page.getByRole("textbox", { name: "Bullet 1", exact: true })).toHaveValue("Mapped the coast");
});

test("every export format downloads, and a PDF is imported back through the model", async ({ page }) => {
  await signIn(page);
  const id = await newResume(page);
  await page.getByLabel("Name", { exact: true }).fill("Roundtrip Person");
  await page.getByLabel("Email").fill("roundtrip@example.com");
  const version = await saved(page);
  await page.getByText("Export", { exact: true }).click();
  for (const format of EXPORT_FORMATS) {
    const href = await page.getByRole("link", { name: format, exact: true }).getAttribute("href");
    expect(href).toBe(`/api/resume/${id}/export/${format}`);
    const response = await page.request.get(href!);
    expect(response.status(), format).toBe(200);
    expect((await response.body()).length, format).toBeGreaterThan(20);
  }
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "markdown", exact: true }).click();
  expect(await (await download).suggestedFilename()).toMatch(/\.md$/);

  const frame = page.locator(`iframe.pdf[data-loaded="${version}"]`);
  await expect(frame).toBeVisible({ timeout: 30_000 });
  const pdf = await (await page.request.get((await frame.getAttribute("src"))!)).body();
  await page.goto("/");
  await page.getByLabel(/A JSON Resume or native export/).setInputFiles({ name: "cv.pdf", mimeType: "application/pdf", buffer: pdf });
  await expect(page).toHaveURL(/\/resumes\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  expect(page.url()).not.toContain(id);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Roundtrip Person");

  // and the DOCX export, imported back the same way
  const docx = await (await page.request.get(`/api/resume/${id}/export/docx`)).body();
  const fromPdf = page.url();
  await page.goto("/");
  await page.getByLabel(/A JSON Resume or native export/).setInputFiles({ name: "cv.docx",
    mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", buffer: docx });
  await expect(page).toHaveURL(/\/resumes\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  expect([fromPdf, `/resumes/${id}`].some((url) => page.url().endsWith(url))).toBe(false);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Roundtrip Person");
});
