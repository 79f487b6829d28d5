import { useId } from "react";
import type { Contact, ResumeDocument } from "../api/client";
import { Field } from "./Field";

export const LOCALES: [string, string][] = [["en", "English"], ["en-GB", "English (UK)"], ["de", "German"],
  ["de-CH", "German (Switzerland)"], ["fr", "French"], ["es", "Spanish"], ["it", "Italian"], ["nl", "Dutch"],
  ["pt", "Portuguese"], ["pl", "Polish"], ["ar", "Arabic"], ["he", "Hebrew"], ["fa", "Persian"],
  ["ja", "Japanese"], ["zh", "Chinese"]];

type Props = { doc: ResumeDocument; onChange: (doc: ResumeDocument) => void };

export function ContactForm({ doc, onChange }: Props) {
  const localeId = useId();
  const contact = doc.contact ?? {};
  const set = (key: keyof Contact) => ({
    value: (contact[key] as string | undefined) ?? "",
    onChange: (value: string) => onChange({ ...doc, contact: { ...contact, [key]: value } }),
  });
  const locale = doc.locale ?? "en";
  const locales = LOCALES.some(([tag]) => tag === locale) ? LOCALES : [[locale, locale], ...LOCALES];
  return (
    <section aria-labelledby="contact-heading" className="panel">
      <h2 id="contact-heading">Resume and contact</h2>
      <div className="grid">
        <Field label="Resume title" value={doc.title ?? ""} onChange={(title) => onChange({ ...doc, title })} />
        <div className="field">
          <label htmlFor={localeId}>Language (locale)</label>
          <select id={localeId} value={doc.locale ?? "en"} onChange={(e) => onChange({ ...doc, locale: e.target.value })}>
            {locales.map(([tag, name]) => <option key={tag} value={tag}>{name} ({tag})</option>)}
          </select>
        </div>
        <Field label="Name" {...set("name")} />
        <Field label="Headline" {...set("label")} />
        <Field label="Email" type="email" {...set("email")} />
        <Field label="Phone" type="tel" {...set("phone")} />
        <Field label="Location" {...set("location")} />
        <Field label="Website" type="url" {...set("url")} />
      </div>
      <Field label="Summary" multiline {...set("summary")} />
    </section>
  );
}
