import { type Browser, type BrowserContext, type Page, expect, test } from "@playwright/test";
import { newResume, saved, serverResume, signIn, uniqueEmail } from "./helpers";

/** Two browser contexts (two devices) of one user, both in the editor of one resume. The
 * second one's event stream is cut, so it does not hear of the first one's save before it
 * saves its own: its save sends the old version and gets the 409. */
async function twoEditors(browser: Browser): Promise<{ a: Page; b: Page; id: string; contexts: BrowserContext[] }> {
  const email = uniqueEmail("conflict");
  const first = await browser.newContext(), second = await browser.newContext();
  const a = await first.newPage(), b = await second.newPage();
  await signIn(a, email);
  await signIn(b, email);
  const id = await newResume(a);
  await second.route("**/api/events", (route) => route.abort());
  await b.goto(`/resumes/${id}`);
  await saved(b);
  await a.getByLabel("Name", { exact: true }).fill("Written on A");
  await saved(a);
  await b.getByLabel("Name", { exact: true }).fill("Written on B");
  await expect(b.getByRole("dialog", { name: "This resume was changed elsewhere" })).toBeVisible();
  const row = b.getByRole("row", { name: /contact\.name/ });
  await expect(row).toContainText("Written on B");
  await expect(row).toContainText("Written on A");
  return { a, b, id, contexts: [first, second] };
}

test("a stale autosave shows what changed, and keeping mine saves it over the other", async ({ browser }) => {
  const { b, id, contexts } = await twoEditors(browser);
  await b.getByRole("button", { name: "Keep mine" }).click();
  await expect(b.getByRole("dialog")).toHaveCount(0);
  const version = await saved(b);
  expect(version).toBe(3);
  expect((await serverResume(b.request, id)).contact.name).toBe("Written on B");
  for (const context of contexts) await context.close();
});

test("a stale autosave lets the person take the other version instead", async ({ browser }) => {
  const { b, id, contexts } = await twoEditors(browser);
  await b.getByRole("button", { name: "Take theirs" }).click();
  await expect(b.getByLabel("Name", { exact: true })).toHaveValue("Written on A");
  expect(await saved(b)).toBe(2);
  expect((await serverResume(b.request, id)).contact.name).toBe("Written on A");
  for (const context of contexts) await context.close();
});
