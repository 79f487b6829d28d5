import { EXPORT_FORMATS } from "../api/client";
import { ConflictDialog } from "../editor/ConflictDialog";
import { ContactForm } from "../editor/Contact";
import { Preview } from "../editor/Preview";
import { Sections } from "../editor/Sections";
import { type SaveStatus, useAutosave } from "../editor/useAutosave";
import { Link } from "../router";
import { ResumeNav } from "./ResumeNav";

const STATUS_TEXT: Record<SaveStatus, string> = {
  loading: "Loading…", saved: "All changes saved", unsaved: "Unsaved changes", saving: "Saving…",
  conflict: "Changed elsewhere: choose a version", error: "Not saved", missing: "Not found",
};

export function Editor({ id }: { id: string }) {
  const { doc, edit, status, error, savedVersion, conflict, keepMine, takeTheirs, remoteNotice, sentAt } = useAutosave(id);
  if (status === "missing") return <section><h1>Resume not found</h1><Link href="/">Back to your resumes</Link></section>;
  if (!doc) return <p role="status">Loading…</p>;
  return (
    <div className="editor-page">
      <div className="editor-head">
        <h1>{doc.title || "Untitled resume"}</h1>
        <p className={`save-status ${status}`} role="status" aria-live="polite" data-version={savedVersion}>
          {STATUS_TEXT[status]}{status === "error" && error ? `: ${error}` : ""} · version {savedVersion}
        </p>
        {remoteNotice && <p className="notice" role="status">{remoteNotice}</p>}
        <ResumeNav id={id} current="editor" />
        <details className="export">
          <summary>Export</summary>
          <ul>
            {EXPORT_FORMATS.map((format) => (
              <li key={format}><a href={`/api/resume/${id}/export/${format}`} download>{format}</a></li>
            ))}
          </ul>
        </details>
      </div>
      <div className="editor-columns">
        <form className="editor" aria-label="Resume editor" onSubmit={(e) => e.preventDefault()}>
          <ContactForm doc={doc} onChange={edit} />
          <Sections sections={doc.sections ?? []} onChange={(sections) => edit({ ...doc, sections })} />
        </form>
        <Preview id={id} version={savedVersion} template={doc.template ?? "standard"}
          onTemplate={(template) => edit({ ...doc, template })} sentAt={sentAt} />
      </div>
      {conflict && <ConflictDialog conflict={conflict} onKeepMine={keepMine} onTakeTheirs={takeTheirs} />}
    </div>
  );
}
