import { useCallback, useEffect, useState } from "react";
import { api, errorMessage, type Schemas } from "../api/client";
import { Link } from "../router";

export function Trash() {
  const [trashed, setTrashed] = useState<Schemas["TrashedResume"][] | null>(null);
  const [message, setMessage] = useState("");
  const load = useCallback(async () => setTrashed((await api.GET("/api/resume/trash")).data ?? []), []);
  useEffect(() => void load(), [load]);
  const undelete = async (resume: Schemas["TrashedResume"]) => {
    const { data, error } = await api.POST("/api/resume/{resume_id}/undelete", { params: { path: { resume_id: resume.id } } });
    setMessage(data ? `Restored “${data.title}”` : errorMessage(error, "Could not restore"));
    await load();
  };
  return (
    <section aria-labelledby="trash-heading">
      <h1 id="trash-heading">Trash</h1>
      <p>Deleted resumes stay here for 30 days; their history is kept.</p>
      <p role="status" aria-live="polite" className="message">{message}</p>
      {trashed === null ? <p>Loading…</p> : trashed.length === 0 ? <p>The trash is empty. <Link href="/">Back to your resumes</Link></p> : (
        <ul className="cards">
          {trashed.map((resume) => (
            <li key={resume.id} className="card">
              <h2>{resume.title || "Untitled resume"}</h2>
              <p className="meta">Deleted {new Date(resume.deleted_at).toLocaleString()} · restorable until {new Date(resume.restorable_until).toLocaleDateString()}</p>
              <button type="button" onClick={() => undelete(resume)} aria-label={`Restore ${resume.title}`}>Restore</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
