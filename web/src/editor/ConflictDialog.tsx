import { useEffect, useRef } from "react";
import { differences } from "../document";
import type { Conflict } from "./useAutosave";

type Props = { conflict: Conflict; onKeepMine: () => void; onTakeTheirs: () => void };

/** The 409 of an autosave: what differs between this tab's document and the saved one. */
export function ConflictDialog({ conflict, onKeepMine, onTakeTheirs }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);
  const changed = differences(conflict.mine, conflict.theirs);
  return (
    <dialog ref={dialog} aria-labelledby="conflict-title" className="conflict" onCancel={(e) => e.preventDefault()}>
      <h2 id="conflict-title">This resume was changed elsewhere</h2>
      <p>Version {conflict.theirsVersion} was saved while you were editing. What differs:</p>
      <table>
        <thead><tr><th scope="col">Field</th><th scope="col">Yours</th><th scope="col">Theirs (saved)</th></tr></thead>
        <tbody>
          {changed.map((d) => (
            <tr key={d.path}><th scope="row">{d.path}</th><td>{d.mine}</td><td>{d.theirs}</td></tr>
          ))}
          {changed.length === 0 && <tr><td colSpan={3}>No difference in content.</td></tr>}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" className="primary" onClick={onKeepMine}>Keep mine</button>
        <button type="button" onClick={onTakeTheirs}>Take theirs</button>
      </div>
    </dialog>
  );
}
