// Compile and preview: each saved version is compiled with the chosen template and options,
// and the PDF is shown beside the editor once its job succeeded (a long poll on its status).
import { useEffect, useId, useRef, useState } from "react";
import { api, errorMessage, type JobOut, type TemplateOut } from "../api/client";

type Options = Record<string, string | number>;
type Props = {
  id: string;
  version: number;
  template: string;
  onTemplate: (template: string) => void;
  sentAt: Map<number, number>;
};

const FINISHED = new Set(["succeeded", "failed"]);

export function Preview({ id, version, template, onTemplate, sentAt }: Props) {
  const templateId = useId();
  const [templates, setTemplates] = useState<TemplateOut[]>([]);
  const [options, setOptions] = useState<Options>({});
  const [job, setJob] = useState<JobOut | null>(null);
  const [state, setState] = useState<"idle" | "compiling" | "failed">("idle");
  const [message, setMessage] = useState("");
  const latest = useRef(0);

  useEffect(() => {
    void api.GET("/api/compile/templates").then(({ data }) => setTemplates(data ?? []));
  }, []);
  const chosen = templates.find((t) => t.name === template);

  useEffect(() => {
    if (!version) return;
    const run = ++latest.current;
    setState("compiling");
    void compile(id, version, template, options).then((result) => {
      if (run !== latest.current) return; // a later save or option won
      if ("job" in result) {
        const started = sentAt.get(result.job.version);
        if (started !== undefined)
          performance.measure("save-to-compiled", { start: started, end: performance.now(), detail: { version } });
        setJob(result.job);
        setState(result.job.status === "succeeded" ? "idle" : "failed");
        setMessage(result.job.status === "succeeded" ? "" : result.job.error ?? "The compile failed");
        if (result.job.ats_status === "pending") void awaitAts(result.job, run);
      } else {
        setState("failed");
        setMessage(result.error);
      }
    });
  }, [id, version, template, options]);

  const awaitAts = async (done: JobOut, run: number) => {
    for (let attempt = 0; attempt < 20 && run === latest.current; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { data } = await api.GET("/api/compile/status/{job_id}", { params: { path: { job_id: done.job_id } } });
      if (data && data.ats_status !== "pending") {
        if (run === latest.current) setJob(data);
        return;
      }
    }
  };

  const shown = (event: React.SyntheticEvent<HTMLIFrameElement>) => {
    const shownVersion = Number(event.currentTarget.dataset.version);
    const started = sentAt.get(shownVersion);
    event.currentTarget.dataset.loaded = String(shownVersion);
    if (started !== undefined)
      performance.measure("save-to-preview", { start: started, end: performance.now(), detail: { version: shownVersion } });
  };

  return (
    <section className="preview panel" aria-labelledby="preview-heading">
      <h2 id="preview-heading">Preview</h2>
      <div className="row">
        <div className="field">
          <label htmlFor={templateId}>Template</label>
          <select id={templateId} value={template} onChange={(e) => { setOptions({}); onTemplate(e.target.value); }}>
            {!chosen && <option value={template}>{template}</option>}
            {templates.map((t) => (
              <option key={t.name} value={t.name}>{t.name} ({t.engine}{t.one_page ? ", one page" : ""})</option>
            ))}
          </select>
        </div>
        {chosen && <TemplateOptions template={chosen} values={options} onChange={setOptions} />}
      </div>
      <p role="status" aria-live="polite" className="compile-status">
        {state === "compiling" && "Compiling…"}
        {state === "failed" && `Compile failed: ${message}`}
        {state === "idle" && job && `Version ${job.version}: ${job.pages ?? "?"} page${job.pages === 1 ? "" : "s"}`}
      </p>
      {job?.overflow?.overflowed && (
        <p className="warning" role="alert">
          Overflow: this one-page template runs {job.overflow.extra_pages} page(s) over. Shorten the content.
        </p>
      )}
      {job?.status === "succeeded" && job.pdf_url && (
        <>
          <iframe className="pdf" title={`PDF of version ${job.version}`} src={job.pdf_url}
            data-version={job.version} onLoad={shown} />
          <p><a href={job.pdf_url} target="_blank" rel="noreferrer">Open the PDF (version {job.version})</a></p>
          <Ats job={job} />
        </>
      )}
    </section>
  );
}

async function compile(id: string, version: number, template: string, options: Options):
  Promise<{ job: JobOut } | { error: string }> {
  const { data, error } = await api.POST("/api/compile/{resume_id}", {
    // `wait`: answered once the job finished (Typst: at once), no status request after it
    params: { path: { resume_id: id }, query: { wait: 10 } }, body: { version, template, options },
  });
  if (!data) return { error: errorMessage(error, "Could not start the compile") };
  let job = data;
  while (!FINISHED.has(job.status)) {
    const polled = await api.GET("/api/compile/status/{job_id}", {
      params: { path: { job_id: job.job_id }, query: { wait: 10 } },
    });
    if (!polled.data) return { error: errorMessage(polled.error, "Lost the compile job") };
    job = polled.data;
  }
  return { job };
}

function TemplateOptions({ template, values, onChange }:
  { template: TemplateOut; values: Options; onChange: (o: Options) => void }) {
  const base = useId();
  return (
    <fieldset className="options">
      <legend>Options of {template.name}</legend>
      {Object.entries(template.options).map(([name, option]) => {
        const id = `${base}-${name}`;
        const value = values[name] ?? option.default;
        const set = (v: string | number) => onChange({ ...values, [name]: v });
        return (
          <div className="field" key={name}>
            <label htmlFor={id}>{name.replaceAll("_", " ")}{option.kind === "number" ? ` (${option.unit})` : ""}</label>
            {option.kind === "number" && (
              <input id={id} type="number" min={option.min} max={option.max} step="any" value={value}
                onChange={(e) => e.target.value !== "" && set(Number(e.target.value))} />
            )}
            {option.kind === "color" && <input id={id} type="color" value={String(value)} onChange={(e) => set(e.target.value)} />}
            {option.kind === "choice" && (
              <select id={id} value={String(value)} onChange={(e) => set(e.target.value)}>
                {option.choices.map((c) => <option key={c} value={c}>{c}</option>)}
              </select>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}

function Ats({ job }: { job: JobOut }) {
  if (job.ats_status === "pending") return <p role="status">ATS report: checking…</p>;
  if (!job.ats) return <p>ATS report: unavailable.</p>;
  const { score, checked, found, missing, issues } = job.ats;
  return (
    <section aria-labelledby="ats-heading" className="ats">
      <h3 id="ats-heading">ATS report</h3>
      <p><strong>{score}</strong>/100: {found} of {checked} parts read back from the PDF.</p>
      {missing.length > 0 && <p>Missing: {missing.join(", ")}</p>}
      {issues.length > 0 && <ul>{issues.map((issue) => <li key={issue}>{issue}</li>)}</ul>}
    </section>
  );
}
