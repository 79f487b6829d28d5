import { type FormEvent, useId, useState } from "react";
import { api, errorMessage, type Schemas, type UserOut } from "../api/client";
import { closeLive } from "../live";

type Erasure = Schemas["ErasureOut"];

/** The account: export every piece of data held about it (one zip), or erase it. */
export function Account({ user, erased }: { user: UserOut; erased: () => void }) {
  return (
    <section aria-labelledby="account-heading">
      <h1 id="account-heading">Account</h1>
      <dl className="panel">
        <dt>Name</dt><dd>{user.name || "—"}</dd>
        <dt>Email</dt><dd>{user.email}</dd>
        <dt>Member since</dt><dd>{new Date(user.created_at).toLocaleDateString()}</dd>
      </dl>
      <AccountExport />
      <AccountErasure user={user} erased={erased} />
    </section>
  );
}

function AccountExport() {
  const [job, setJob] = useState<Schemas["ExportOut"] | null>(null);
  const [message, setMessage] = useState("");
  const start = async () => {
    setMessage("Preparing your archive…");
    const { data, error } = await api.GET("/api/user/me/export");
    let current = data;
    while (current && current.status !== "succeeded" && current.status !== "failed") {
      const polled = await api.GET("/api/user/me/exports/{job_id}", {
        params: { path: { job_id: current.job_id }, query: { wait: 10 } } });
      current = polled.data;
    }
    setJob(current ?? null);
    setMessage(!current ? errorMessage(error, "The export failed") : current.status === "failed"
      ? current.error?.message || "The export failed" : "");
  };
  return (
    <section aria-labelledby="export-heading" className="panel">
      <h2 id="export-heading">Export your data</h2>
      <p>One zip archive of everything held about you: resumes and their history, PDFs, ratings, shares.</p>
      <button type="button" onClick={start}>Export my data</button>
      <p role="status" aria-live="polite" className="message">{message}</p>
      {job?.status === "succeeded" && job.archive_url && (
        <p>
          <a href={job.archive_url} download>Download the archive</a>{" "}
          <span className="meta">({job.files} files, {Math.ceil((job.size_bytes ?? 0) / 1024)} KB
            {job.expires_at ? `, kept until ${new Date(job.expires_at).toLocaleString()}` : ""})</span>
        </p>
      )}
    </section>
  );
}

function AccountErasure({ user, erased }: { user: UserOut; erased: () => void }) {
  const confirmId = useId();
  const [confirm, setConfirm] = useState("");
  const [message, setMessage] = useState("");
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error, response } = await api.DELETE("/api/user/me", { body: { confirm } });
    if (!data) {
      setMessage(response.status === 401
        ? "For your safety, sign in again (within the last few minutes) before erasing your account."
        : errorMessage(error, "The erasure was refused"));
      return;
    }
    closeLive();
    erased();
    setMessage("");
    void followErasure(data.erasure_id);
  };
  return (
    <section aria-labelledby="erase-heading" className="panel danger-zone">
      <h2 id="erase-heading">Erase your account</h2>
      <p>Everything you own is erased in every service, and you are signed out everywhere. This cannot be undone.</p>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor={confirmId}>Type your email ({user.email}) to confirm</label>
          <input id={confirmId} value={confirm} autoComplete="off" onChange={(e) => setConfirm(e.target.value)} />
        </div>
        <button type="submit" className="danger" disabled={confirm.trim() === ""}>Erase my account</button>
      </form>
      <p role="alert" className="message">{message}</p>
    </section>
  );
}

/** An erasure's progress (a public route: the session is gone), kept for the sign-in page. */
async function followErasure(erasureId: string): Promise<void> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const { data } = await api.GET("/api/auth/erasures/{erasure_id}", { params: { path: { erasure_id: erasureId } } });
    if (data) erasureListeners.forEach((listener) => listener(data));
    if (!data || data.status === "erased") return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export const erasureListeners = new Set<(progress: Erasure) => void>();
