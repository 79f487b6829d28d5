import { useCallback, useEffect, useState } from "react";
import { api, errorMessage, type HistoryEntry, type Schemas } from "../api/client";
import { useLive } from "../live";
import { navigate } from "../router";
import { ResumeNav } from "./ResumeNav";

export function History({ id }: { id: string }) {
  const [entries, setEntries] = useState<HistoryEntry[] | null>(null);
  const [viewing, setViewing] = useState<Schemas["ResumeAtVersion"] | null>(null);
  const [message, setMessage] = useState("");
  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/resume/{resume_id}/history", { params: { path: { resume_id: id } } });
    setEntries(data ? [...data].reverse() : []);
    if (!data) setMessage(errorMessage(error, "Could not read the history"));
  }, [id]);
  useEffect(() => void load(), [load]);
  useLive((kind, data) => (kind === "open" || (kind === "resume" && (data as { resume_id: string }).resume_id === id))
    && void load());

  const view = async (version: number) => {
    const { data, error } = await api.GET("/api/resume/{resume_id}/versions/{version}", { params: { path: { resume_id: id, version } } });
    setViewing(data ?? null);
    if (!data) setMessage(errorMessage(error, "Could not read that version"));
  };
  const restore = async (version: number) => {
    const { data, error } = await api.POST("/api/resume/{resume_id}/restore/{version}", { params: { path: { resume_id: id, version } } });
    if (data) navigate(`/resumes/${id}`);
    else setMessage(errorMessage(error, "Could not restore"));
  };

  return (
    <section aria-labelledby="history-heading">
      <h1 id="history-heading">History</h1>
      <ResumeNav id={id} current="history" />
      <p role="status" aria-live="polite" className="message">{message}</p>
      <div className="history-columns">
        <table className="history">
          <caption>Every saved version, newest first</caption>
          <thead><tr><th scope="col">Version</th><th scope="col">When</th><th scope="col">What changed</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {(entries ?? []).map((entry) => (
              <tr key={entry.version}>
                <th scope="row">{entry.version}</th>
                <td>{new Date(entry.recorded_at).toLocaleString()}</td>
                <td>{entry.summary || entry.event_type}</td>
                <td>
                  <div className="actions">
                    <button type="button" onClick={() => view(entry.version)} aria-label={`View version ${entry.version}`}>View</button>
                    <button type="button" onClick={() => restore(entry.version)} aria-label={`Restore version ${entry.version}`}>Restore</button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {viewing && (
          <article className="panel version" aria-labelledby="version-heading">
            <h2 id="version-heading">Version {viewing.version}</h2>
            {viewing.deleted || !viewing.document ? <p>Deleted at this version.</p> : <DocumentView doc={viewing.document} />}
          </article>
        )}
      </div>
    </section>
  );
}

export function DocumentView({ doc }: { doc: Schemas["ResumeDocument"] }) {
  return (
    <div className="document" lang={doc.locale}>
      <h3>{doc.contact?.name || doc.title}</h3>
      {doc.contact?.label && <p>{doc.contact.label}</p>}
      <p className="meta">{[doc.contact?.email, doc.contact?.phone, doc.contact?.location].filter(Boolean).join(" · ")}</p>
      {(doc.sections ?? []).map((section) => (
        <section key={section.id}>
          <h4>{section.title}</h4>
          <ul>
            {(section.items ?? []).map((item) => (
              <li key={item.id}>
                <strong>{item.title}</strong>{item.subtitle ? `, ${item.subtitle}` : ""}
                {(item.bullets ?? []).length > 0 && <ul>{item.bullets!.map((b, i) => <li key={i}>{b}</li>)}</ul>}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
