import { useId } from "react";
import type { Item, Section } from "../api/client";
import { moved, newItem, newSection } from "../document";
import { Field } from "./Field";
import { Reorderable } from "./Reorder";

const KINDS: Section["kind"][] = ["summary", "experience", "education", "projects", "skills", "awards",
  "publications", "volunteering", "languages", "certificates", "interests", "references", "custom"];

type Props = { sections: Section[]; onChange: (sections: Section[]) => void };

export function Sections({ sections, onChange }: Props) {
  const set = (index: number, section: Section) => onChange(sections.map((s, i) => (i === index ? section : s)));
  return (
    <section aria-labelledby="sections-heading" className="panel">
      <h2 id="sections-heading">Sections</h2>
      <ol className="sections">
        {sections.map((section, index) => (
          <Reorderable key={section.id ?? index} index={index} count={sections.length}
            label={`section ${section.title || index + 1}`} group="section" className="section"
            onMove={(from, to) => onChange(moved(sections, from, to))}>
            <SectionEditor section={section} onChange={(s) => set(index, s)}
              onRemove={() => onChange(sections.filter((_, i) => i !== index))} />
          </Reorderable>
        ))}
      </ol>
      <button type="button" onClick={() => onChange([...sections, newSection()])}>Add section</button>
    </section>
  );
}

function SectionEditor({ section, onChange, onRemove }:
  { section: Section; onChange: (s: Section) => void; onRemove: () => void }) {
  const kindId = useId();
  const items = section.items ?? [];
  const setItems = (next: Item[]) => onChange({ ...section, items: next });
  const name = section.title || "untitled section";
  return (
    <div className="section-body">
      <div className="row">
        <Field label="Section title" value={section.title ?? ""} onChange={(title) => onChange({ ...section, title })} />
        <div className="field">
          <label htmlFor={kindId}>Kind</label>
          <select id={kindId} value={section.kind} onChange={(e) => onChange({ ...section, kind: e.target.value as Section["kind"] })}>
            {KINDS.map((kind) => <option key={kind} value={kind}>{kind}</option>)}
          </select>
        </div>
        <button type="button" className="danger" onClick={onRemove} aria-label={`Remove section ${name}`}>Remove</button>
      </div>
      <ol className="items" aria-label={`Items of ${name}`}>
        {items.map((item, index) => (
          <Reorderable key={item.id ?? index} index={index} count={items.length}
            label={`item ${item.title || index + 1}`} group={`item-${section.id}`} className="item"
            onMove={(from, to) => setItems(moved(items, from, to))}>
            <ItemEditor item={item} onChange={(next) => setItems(items.map((it, i) => (i === index ? next : it)))}
              onRemove={() => setItems(items.filter((_, i) => i !== index))} />
          </Reorderable>
        ))}
      </ol>
      <button type="button" onClick={() => setItems([...items, newItem()])} aria-label={`Add item to ${name}`}>Add item</button>
    </div>
  );
}

function ItemEditor({ item, onChange, onRemove }: { item: Item; onChange: (i: Item) => void; onRemove: () => void }) {
  const bullets = item.bullets ?? [];
  const text = (key: "title" | "subtitle" | "location" | "start_date" | "end_date" | "description") =>
    ({ value: item[key] ?? "", onChange: (value: string) => onChange({ ...item, [key]: value }) });
  const name = item.title || "untitled item";
  return (
    <div className="item-body">
      <div className="grid">
        <Field label="Title" {...text("title")} />
        <Field label="Organisation" {...text("subtitle")} />
        <Field label="Location" {...text("location")} />
        <Field label="Start" {...text("start_date")} />
        <Field label="End" {...text("end_date")} />
      </div>
      <Field label="Description" multiline {...text("description")} />
      <fieldset>
        <legend>Bullets of {name}</legend>
        <ol className="bullets">
          {bullets.map((bullet, index) => (
            <Reorderable key={index} index={index} count={bullets.length} label={`bullet ${index + 1}`}
              group={`bullet-${item.id}`} className="bullet"
              onMove={(from, to) => onChange({ ...item, bullets: moved(bullets, from, to) })}>
              <Field label={`Bullet ${index + 1}`} value={bullet}
                onChange={(value) => onChange({ ...item, bullets: bullets.map((b, i) => (i === index ? value : b)) })} />
              <button type="button" className="danger" aria-label={`Remove bullet ${index + 1} of ${name}`}
                onClick={() => onChange({ ...item, bullets: bullets.filter((_, i) => i !== index) })}>Remove</button>
            </Reorderable>
          ))}
        </ol>
        <button type="button" onClick={() => onChange({ ...item, bullets: [...bullets, ""] })}>Add bullet</button>
      </fieldset>
      <button type="button" className="danger" onClick={onRemove} aria-label={`Remove item ${name}`}>Remove item</button>
    </div>
  );
}
