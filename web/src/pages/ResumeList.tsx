import { useCallback, useEffect, useId, useState } from "react";
import { api, errorMessage, type ResumeOut } from "../api/client";
import { documentOf } from "../document";
import { useLive } from "../live";
import { Link, navigate } from "../router";

export function ResumeList() {
  const [resumes, setResumes] = useState<ResumeOut[] | null>(null);
  const [message, setMessage] = useState("");
  const load = useCallback(async () => {
    const { data } = await api.GET("/api/resume/all");
    setResumes(data ?? []);
  }, []);
  useEffect(() => void load(), [load]);
  useLive((kind) => (kind === "resume" || kind === "open") && void load());

  const create = async () => {
    const { data, error } = await api.POST("/api/resume/create", {
      body: { title: "Untitled resume", template: "standard", locale: "en" },
    });
    if (data) navigate(`/resumes/${data.id}`);
    else setMessage(errorMessage(error, "Could not create a resume"));
  };
  const duplicate = async (resume: ResumeOut) => {
    const copy = documentOf(resume);
    const { data, error } = await api.POST("/api/resume/create", { body: { ...copy, title: `${copy.title} (copy)` } });
    setMessage(data ? `Duplicated as “${data.title}”` : errorMessage(error, "Could not duplicate"));
    await load();
  };
  const remove = async (resume: ResumeOut) => {
    const { response, error } = await api.DELETE("/api/resume/delete/{resume_id}", { params: { path: { resume_id: resume.id } } });
    setMessage(response.ok ? `Moved “${resume.title}” to the trash` : errorMessage(error, "Could not delete"));
    await load();
  };

  return (
    <section aria-labelledby="list-heading">
      <div className="page-head">
        <h1 id="list-heading">Your resumes</h1>
        <button type="button" className="primary" onClick={create}>New resume</button>
      </div>
      <p role="status" aria-live="polite" className="message">{message}</p>
      {resumes === null ? <p>Loading…</p> : resumes.length === 0 ? <p>No resumes yet: create one or import a file.</p> : (
        <ul className="cards">
          {resumes.map((resume) => (
            <li key={resume.id} className="card">
              <h2><Link href={`/resumes/${resume.id}`}>{resume.title || "Untitled resume"}</Link></h2>
              <p className="meta">Version {resume.version} · {resume.template} · updated {new Date(resume.updated_at).toLocaleString()}</p>
              <div className="actions">
                <button type="button" onClick={() => duplicate(resume)} aria-label={`Duplicate ${resume.title}`}>Duplicate</button>
                <button type="button" className="danger" onClick={() => remove(resume)} aria-label={`Delete ${resume.title}`}>Delete</button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <Import onMessage={setMessage} />
    </section>
  );
}

function Import({ onMessage }: { onMessage: (message: string) => void }) {
  const inputId = useId();
  const [busy, setBusy] = useState(false);
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setBusy(true);
    onMessage(`Importing ${file.name}…`);
    try {
      const id = /\.(pdf|docx)$/i.test(file.name) ? await importWithAi(file) : await importJson(file);
      navigate(`/resumes/${id}`);
    } catch (problem) {
      onMessage(problem instanceof Error ? problem.message : String(problem));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="import-heading" className="panel">
      <h2 id="import-heading">Import</h2>
      <div className="field">
        <label htmlFor={inputId}>A JSON Resume or native export (.json), a PDF or a DOCX</label>
        <input id={inputId} type="file" accept=".json,.pdf,.docx,application/json,application/pdf" disabled={busy}
          onChange={(e) => void onFile(e.target.files?.[0])} />
      </div>
    </section>
  );
}

async function importJson(file: File): Promise<string> {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(await file.text()) as Record<string, unknown>;
  } catch {
    throw new Error(`${file.name} is not JSON`);
  }
  const format = parsed.format === "resume-builder" ? "native" : "json-resume";
  const { data, error } = await api.POST("/api/resume/import", { params: { query: { format } }, body: parsed });
  if (!data) throw new Error(errorMessage(error, "The import failed"));
  return data.id;
}

async function importWithAi(file: File): Promise<string> {
  const { data, error } = await api.POST("/api/ai/import", {
    body: { file: file as unknown as string },
    bodySerializer: (body) => {
      const form = new FormData();
      form.append("file", body.file as unknown as Blob, file.name);
      return form;
    },
  });
  if (!data) throw new Error(errorMessage(error, "The import failed"));
  let job = data;
  while (job.status !== "succeeded" && job.status !== "failed") {
    const polled = await api.GET("/api/ai/imports/{job_id}", { params: { path: { job_id: job.job_id }, query: { wait: 10 } } });
    if (!polled.data) throw new Error(errorMessage(polled.error, "Lost the import"));
    job = polled.data;
  }
  if (job.status === "failed" || !job.resume_id) throw new Error(job.error?.message ?? "The import failed");
  return job.resume_id;
}
