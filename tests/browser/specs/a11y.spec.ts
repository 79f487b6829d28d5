// axe-core on every page of the client: no serious or critical violation.
import { type Page, expect, test } from "@playwright/test";
import axe from "axe-core";
import { newResume, saved, signIn } from "./helpers";

type Violation = { id: string; impact: string | null; help: string; nodes: { target: unknown }[] };

async function violations(page: Page): Promise<string[]> {
  // injected through the DevTools protocol (page.evaluate), which the page's CSP does not govern
  await page.evaluate(axe.source);
  const found: Violation[] = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: typeof axe }).axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return found
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

test("no page has a serious or critical accessibility violation", async ({ page }) => {
  await page.goto("/signin");
  await expect(page.getByRole("heading", { name: "Sign in", exact: true })).toBeVisible();
  const report: Record<string, string[]> = { signin: await violations(page) };
  await signIn(page);
  const id = await newResume(page);
  await page.getByLabel("Name", { exact: true }).fill("Accessible Person");
  await page.getByRole("button", { name: "Add section" }).click();
  await page.getByRole("button", { name: "Add item to Experience" }).click();
  await page.getByRole("button", { name: "Add bullet" }).click();
  const version = await saved(page);
  await expect(page.locator(`iframe.pdf[data-loaded="${version}"]`)).toBeVisible({ timeout: 30_000 });
  report.editor = await violations(page);
  for (const [name, path] of [["list", "/"], ["trash", "/trash"], ["account", "/account"],
    ["history", `/resumes/${id}/history`], ["shares", `/resumes/${id}/shares`], ["rating", `/resumes/${id}/rating`]]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await page.waitForLoadState("networkidle");
    report[name] = await violations(page);
  }
  expect(report).toEqual(Object.fromEntries(Object.keys(report).map((k) => [k, []])));
});

test("every control is reachable by keyboard and shows its focus", async ({ page }) => {
  await signIn(page);
  const id = await newResume(page);
  await page.goto(`/resumes/${id}`);  // a fresh load: focus starts at the document
  await expect(page.locator(".save-status")).toContainText("All changes saved");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  const outline = await skip.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe("none");
  // tabbing reaches the name field of the editor
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.getByLabel("Name", { exact: true }).evaluate((el) => el === document.activeElement);
  }
  expect(reached).toBe(true);
});
