import { useId } from "react";

type Props = {
  label: string;
  value: string;
  onChange: (value: string) => void;
  multiline?: boolean;
  type?: string;
  dir?: "auto";
};

/** A labelled text input (every control of the editor has a visible label). */
export function Field({ label, value, onChange, multiline, type = "text", dir }: Props) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea id={id} value={value} dir={dir} rows={3} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input id={id} type={type} value={value} dir={dir} onChange={(e) => onChange(e.target.value)} />
      )}
    </div>
  );
}
