// Reordering a list by keyboard (the move buttons, or Alt+Arrow keys on the handle) and by
// drag and drop (the handle is draggable; dropping on another entry moves it there).
import { type DragEvent, type KeyboardEvent, type ReactNode, useState } from "react";

type Props = {
  index: number;
  count: number;
  label: string;
  group: string;
  onMove: (from: number, to: number) => void;
  children: ReactNode;
  className?: string;
};

export function Reorderable({ index, count, label, group, onMove, children, className }: Props) {
  const [over, setOver] = useState(false);
  const onKey = (event: KeyboardEvent<HTMLButtonElement>) => {
    if (!event.altKey) return;
    if (event.key === "ArrowUp") onMove(index, index - 1);
    else if (event.key === "ArrowDown") onMove(index, index + 1);
    else return;
    event.preventDefault();
  };
  const onDragStart = (event: DragEvent) => {
    event.dataTransfer.setData(`application/x-rb-${group}`, String(index));
    event.dataTransfer.effectAllowed = "move";
  };
  const accepts = (event: DragEvent) => event.dataTransfer.types.includes(`application/x-rb-${group}`);
  const onDrop = (event: DragEvent) => {
    setOver(false);
    if (!accepts(event)) return;
    event.preventDefault();
    event.stopPropagation();
    onMove(Number(event.dataTransfer.getData(`application/x-rb-${group}`)), index);
  };
  return (
    <li
      className={`${className ?? ""}${over ? " drop-target" : ""}`}
      data-testid={`${group}-${index}`}
      onDragOver={(event) => {
        if (accepts(event)) {
          event.preventDefault();
          setOver(true);
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <div className="reorder" role="group" aria-label={`Order of ${label}`}>
        <button type="button" className="handle" draggable onDragStart={onDragStart} onKeyDown={onKey}
          aria-label={`Drag ${label}, or Alt+Arrow keys to move it`} title="Drag to reorder">⠿</button>
        <button type="button" onClick={() => onMove(index, index - 1)} disabled={index === 0}
          aria-label={`Move ${label} up`}>↑</button>
        <button type="button" onClick={() => onMove(index, index + 1)} disabled={index === count - 1}
          aria-label={`Move ${label} down`}>↓</button>
      </div>
      {children}
    </li>
  );
}
