import { type FormEvent, useCallback, useEffect, useId, useState } from "react";
import { api, errorMessage, type ShareOut } from "../api/client";
import { useLive } from "../live";
import { ResumeNav } from "./ResumeNav";

const HIDABLE = ["email", "phone", "address", "location", "url", "image", "links", "profiles"] as const;

export function Shares({ id }: { id: string }) {
  const passwordId = useId(), expiresId = useId();
  const [shares, setShares] = useState<ShareOut[] | null>(null);
  const [password, setPassword] = useState("");
  const [expires, setExpires] = useState("");
  const [hidden, setHidden] = useState<string[]>([]);
  const [message, setMessage] = useState("");
  const load = useCallback(async () => {
    const { data } = await api.GET("/api/resume/{resume_id}/shares", { params: { path: { resume_id: id } } });
    setShares(data ?? []);
  }, [id]);
  useEffect(() => void load(), [load]);
  useLive((kind, data) => (kind === "open" || (kind === "share" && (data as { resume_id?: string }).resume_id === id))
    && void load());

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/resume/{resume_id}/shares", {
      params: { path: { resume_id: id } },
      body: { password: password || null, expires_at: expires ? new Date(expires).toISOString() : null,
        hidden: hidden as (typeof HIDABLE)[number][] },
    });
    setMessage(data ? "Share link created" : errorMessage(error, "Could not create the link"));
    setPassword("");
    await load();
  };
  const revoke = async (share: ShareOut) => {
    const { response, error } = await api.DELETE("/api/resume/{resume_id}/shares/{share_id}", {
      params: { path: { resume_id: id, share_id: share.id } } });
    setMessage(response.ok ? "Link revoked" : errorMessage(error, "Could not revoke"));
    await load();
  };

  return (
    <section aria-labelledby="shares-heading">
      <h1 id="shares-heading">Share links</h1>
      <ResumeNav id={id} current="shares" />
      <form className="panel" onSubmit={create} aria-labelledby="new-share-heading">
        <h2 id="new-share-heading">New link (always the latest version)</h2>
        <div className="grid">
          <div className="field">
            <label htmlFor={passwordId}>Password (optional)</label>
            <input id={passwordId} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={expiresId}>Expires (optional)</label>
            <input id={expiresId} type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
          </div>
        </div>
        <fieldset>
          <legend>Hide from the link</legend>
          {HIDABLE.map((field) => (
            <label key={field} className="check">
              <input type="checkbox" checked={hidden.includes(field)}
                onChange={(e) => setHidden(e.target.checked ? [...hidden, field] : hidden.filter((h) => h !== field))} />
              {field}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="primary">Create link</button>
      </form>
      <p role="status" aria-live="polite" className="message">{message}</p>
      <ul className="cards">
        {(shares ?? []).map((share) => (
          <li key={share.id} className={`card share${share.revoked_at ? " revoked" : ""}`}>
            <h2><a href={`${share.url}/page`} target="_blank" rel="noreferrer">{location.origin}{share.url}/page</a></h2>
            <p className="meta">
              {share.version === null ? "latest version" : `version ${share.version}`}
              {share.protected ? " · password" : ""}{share.expires_at ? ` · expires ${new Date(share.expires_at).toLocaleString()}` : ""}
              {share.revoked_at ? ` · revoked ${new Date(share.revoked_at).toLocaleString()}` : ""}
            </p>
            <dl className="stats" aria-label="Statistics">
              <div><dt>Views</dt><dd data-testid="views">{share.stats.views}</dd></div>
              <div><dt>Unique viewers</dt><dd>{share.stats.unique_viewers}</dd></div>
              <div><dt>Downloads</dt><dd>{share.stats.downloads}</dd></div>
              <div><dt>Bots</dt><dd>{share.stats.bots}</dd></div>
            </dl>
            {!share.revoked_at && <button type="button" className="danger" onClick={() => revoke(share)}>Revoke</button>}
          </li>
        ))}
      </ul>
    </section>
  );
}
