// The editable document of a resume and what differs between two of them.
import type { Item, ResumeDocument, ResumeOut, Section } from "./api/client";

export function documentOf(resume: ResumeOut | ResumeDocument): ResumeDocument {
  const { title, template, locale, contact, sections, meta, extensions } = resume;
  return { title: title ?? "", template: template ?? "standard", locale: locale ?? "en",
    contact: contact ?? {}, sections: sections ?? [], meta, extensions };
}

export function newSection(kind: Section["kind"] = "experience", title = "Experience"): Section {
  return { id: crypto.randomUUID(), kind, title, items: [] };
}

export function newItem(): Item {
  return { id: crypto.randomUUID(), title: "", subtitle: "", bullets: [] };
}

export function moved<T>(list: T[], from: number, to: number): T[] {
  if (to < 0 || to >= list.length || from === to) return list;
  const copy = [...list];
  const [taken] = copy.splice(from, 1);
  copy.splice(to, 0, taken);
  return copy;
}

export type Difference = { path: string; mine: string; theirs: string };

/** Every leaf that differs between two documents, as readable paths ("contact.name",
 * "Experience › Engineer › bullet 2"). */
export function differences(mine: ResumeDocument, theirs: ResumeDocument): Difference[] {
  const a = leaves(mine), b = leaves(theirs);
  const paths = [...new Set([...a.keys(), ...b.keys()])];
  return paths
    .filter((path) => a.get(path) !== b.get(path))
    .map((path) => ({ path, mine: a.get(path) ?? "(none)", theirs: b.get(path) ?? "(none)" }));
}

function leaves(document: ResumeDocument): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string) => {
    if (value === null || value === undefined || value === "") return;
    if (Array.isArray(value)) {
      value.forEach((entry, index) => walk(entry, `${path} › ${labelOf(entry, index)}`));
    } else if (typeof value === "object") {
      for (const [key, entry] of Object.entries(value)) {
        if (key === "id") continue;
        walk(entry, path ? `${path}.${key}` : key);
      }
    } else out.set(path, String(value));
  };
  walk({ ...document, meta: undefined }, "");
  return out;
}

function labelOf(entry: unknown, index: number): string {
  if (entry && typeof entry === "object" && "title" in entry && typeof entry.title === "string" && entry.title)
    return entry.title;
  return `#${index + 1}`;
}
