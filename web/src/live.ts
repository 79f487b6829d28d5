// Live updates from the gateway's event stream (GET /api/events, server-sent events): one
// EventSource per tab, shared by every component that listens. It reconnects by itself and
// sends Last-Event-ID, so nothing between two connections is lost; what came before the first
// connection is not in it, hence the "open" each listener hears.
import { useEffect, useRef } from "react";

export type ResumeEvent = { type: string; resume_id: string; version: number };
export type JobEvent = { type: string; kind: string; job_id: string; status: string; resume_id?: string };
// "open": the stream (re)connected; what happened before it did is not in it, so a listener
// reads again what it shows
type Listener = (kind: "resume" | "job" | "share" | "open", data: unknown) => void;

const listeners = new Set<Listener>();
let source: EventSource | null = null;

function open(): void {
  if (source) return;
  source = new EventSource("/api/events");
  source.addEventListener("open", () => listeners.forEach((listener) => listener("open", null)));
  for (const kind of ["resume", "job", "share"] as const) {
    source.addEventListener(kind, (event) => {
      const data: unknown = JSON.parse((event as MessageEvent<string>).data);
      listeners.forEach((listener) => listener(kind, data));
    });
  }
}

export function closeLive(): void {
  source?.close();
  source = null;
}

export function useLive(listener: Listener): void {
  const current = useRef(listener);
  current.current = listener;
  useEffect(() => {
    const relay: Listener = (kind, data) => current.current(kind, data);
    listeners.add(relay);
    open();
    return () => {
      listeners.delete(relay);
      if (listeners.size === 0) closeLive();
    };
  }, []);
}
