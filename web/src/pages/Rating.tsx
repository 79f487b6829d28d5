import { useEffect, useState } from "react";
import { api, errorMessage, type RatingJobOut } from "../api/client";
import { ResumeNav } from "./ResumeNav";

export function Rating({ id }: { id: string }) {
  const [job, setJob] = useState<RatingJobOut | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");
  useEffect(() => {
    void api.GET("/api/ai/rate/{resume_id}", { params: { path: { resume_id: id } } }).then(({ data }) => data && setJob(data));
  }, [id]);

  const rate = async () => {
    setBusy(true);
    setMessage("Rating…");
    const { data, error } = await api.POST("/api/ai/rate/{resume_id}", { params: { path: { resume_id: id } }, body: {} });
    let current = data;
    while (current && current.status !== "succeeded" && current.status !== "failed") {
      const polled = await api.GET("/api/ai/ratings/{job_id}", { params: { path: { job_id: current.job_id }, query: { wait: 10 } } });
      current = polled.data;
    }
    setBusy(false);
    if (current) setJob(current);
    setMessage(!current ? errorMessage(error, "Could not rate") : current.status === "failed" ? current.error?.message ?? "The rating failed" : "");
  };

  const rating = job?.rating;
  return (
    <section aria-labelledby="rating-heading">
      <h1 id="rating-heading">Rating</h1>
      <ResumeNav id={id} current="rating" />
      <button type="button" className="primary" onClick={rate} disabled={busy}>Rate the latest version</button>
      <p role="status" aria-live="polite" className="message">{message}</p>
      {rating && job && (
        <article className="panel scorecard" aria-labelledby="score-heading">
          <h2 id="score-heading">Overall <span className="score" data-testid="overall">{rating.overall_score}</span>/100</h2>
          <p className="meta">Version {job.resume_version} · {job.model}</p>
          <table>
            <caption>By section</caption>
            <thead><tr><th scope="col">Section</th><th scope="col">Score</th><th scope="col">Comment</th></tr></thead>
            <tbody>{rating.sections.map((s) => <tr key={s.section}><th scope="row">{s.section}</th><td>{s.score}</td><td>{s.comment}</td></tr>)}</tbody>
          </table>
          <div className="grid">
            <section><h3>Strengths</h3><ul>{rating.strengths.map((s) => <li key={s}>{s}</li>)}</ul></section>
            <section><h3>Weaknesses</h3><ul>{rating.weaknesses.map((s) => <li key={s}>{s}</li>)}</ul></section>
          </div>
          <h3>Suggestions</h3>
          <ul>{rating.suggestions.map((s, i) => <li key={i}><strong>{s.section}{s.item ? ` › ${s.item}` : ""}:</strong> {s.suggestion}</li>)}</ul>
        </article>
      )}
    </section>
  );
}
