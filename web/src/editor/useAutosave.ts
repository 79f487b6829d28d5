// Autosave: each edit is saved shortly after typing stops, with the version it was read at
// (the body's `version`); a 409 means someone else saved first: the conflict holds both
// documents until the person keeps theirs (saved over the other) or takes the other.
import { useCallback, useEffect, useRef, useState } from "react";
import { api, currentVersion, errorMessage, type ResumeDocument } from "../api/client";
import { documentOf } from "../document";
import { useLive, type ResumeEvent } from "../live";

const DEBOUNCE_MS = 400;

export type SaveStatus = "loading" | "saved" | "unsaved" | "saving" | "conflict" | "error" | "missing";
export type Conflict = { mine: ResumeDocument; theirs: ResumeDocument; theirsVersion: number };

export function useAutosave(id: string) {
  const [doc, setDocState] = useState<ResumeDocument | null>(null);
  const [status, setStatus] = useState<SaveStatus>("loading");
  const [error, setError] = useState("");
  const [savedVersion, setSavedVersion] = useState(0);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [remoteNotice, setRemoteNotice] = useState("");
  const docRef = useRef<ResumeDocument | null>(null);
  const versionRef = useRef(0);
  const dirtyRef = useRef(false);
  const inFlight = useRef(false);
  const timer = useRef<number | undefined>(undefined);
  // performance.now() when the save that made each version was sent (the preview's bench)
  const sentAt = useRef(new Map<number, number>());

  const adopt = useCallback((next: ResumeDocument, version: number) => {
    docRef.current = next;
    versionRef.current = version;
    dirtyRef.current = false;
    setDocState(next);
    setSavedVersion(version);
    setStatus("saved");
  }, []);

  const load = useCallback(async () => {
    const { data, response } = await api.GET("/api/resume/{resume_id}", { params: { path: { resume_id: id } } });
    if (!data) {
      setStatus(response.status === 404 ? "missing" : "error");
      return;
    }
    adopt(documentOf(data), data.version);
  }, [id, adopt]);
  useEffect(() => void load(), [load]);

  const save = useCallback(async (): Promise<void> => {
    if (inFlight.current || !docRef.current || !dirtyRef.current) return;
    inFlight.current = true;
    const sending = docRef.current;
    dirtyRef.current = false;
    setStatus("saving");
    const started = performance.now();
    const { data, error: failure, response } = await api.PUT("/api/resume/update/{resume_id}", {
      params: { path: { resume_id: id } },
      body: { ...sending, version: versionRef.current },
    });
    inFlight.current = false;
    if (data) {
      performance.measure("save-answered", { start: started, end: performance.now(), detail: { version: data.version } });
      versionRef.current = data.version;
      sentAt.current.set(data.version, started);
      setSavedVersion(data.version);
      if (docRef.current !== sending) {
        dirtyRef.current = true;
        void save();
      } else setStatus("saved");
      return;
    }
    dirtyRef.current = true;
    if (response.status === 409 && currentVersion(failure) !== undefined) {
      const { data: theirs } = await api.GET("/api/resume/{resume_id}", { params: { path: { resume_id: id } } });
      if (theirs) {
        setConflict({ mine: docRef.current!, theirs: documentOf(theirs), theirsVersion: theirs.version });
        setStatus("conflict");
        return;
      }
    }
    setError(errorMessage(failure, `Saving failed (${response.status})`));
    setStatus("error");
  }, [id]);

  const edit = useCallback((next: ResumeDocument) => {
    docRef.current = next;
    dirtyRef.current = true;
    setDocState(next);
    setStatus((s) => (s === "conflict" ? s : "unsaved"));
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      if (!conflictRef.current) void save();
    }, DEBOUNCE_MS);
  }, [save]);

  const conflictRef = useRef<Conflict | null>(null);
  conflictRef.current = conflict;

  const keepMine = useCallback(() => {
    if (!conflict) return;
    versionRef.current = conflict.theirsVersion;
    setConflict(null);
    dirtyRef.current = true;
    void save();
  }, [conflict, save]);

  const takeTheirs = useCallback(() => {
    if (!conflict) return;
    setConflict(null);
    adopt(conflict.theirs, conflict.theirsVersion);
  }, [conflict, adopt]);

  const catchUp = useCallback(async () => {
    const { data } = await api.GET("/api/resume/{resume_id}", { params: { path: { resume_id: id } } });
    if (data && data.version > versionRef.current && !dirtyRef.current && !inFlight.current)
      adopt(documentOf(data), data.version);
  }, [id, adopt]);

  useLive((kind, data) => {
    if (kind === "open") {
      void catchUp();
      return;
    }
    if (kind !== "resume") return;
    const event = data as ResumeEvent;
    // while a save of ours is in flight its own event may come first: its answer decides
    if (event.resume_id !== id || event.version <= versionRef.current || inFlight.current) return;
    if (!dirtyRef.current) {
      setRemoteNotice(`Updated from another tab or device (version ${event.version})`);
      void load();
    } else setRemoteNotice("Saved elsewhere: your next save will ask which to keep");
    window.clearTimeout(noticeTimer.current);
    noticeTimer.current = window.setTimeout(() => setRemoteNotice(""), 8000);
  });
  const noticeTimer = useRef<number | undefined>(undefined);

  useEffect(() => () => {
    window.clearTimeout(timer.current);
    window.clearTimeout(noticeTimer.current);
  }, []);
  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      if (dirtyRef.current) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, []);

  return { doc, edit, status, error, savedVersion, conflict, keepMine, takeTheirs, remoteNotice,
    sentAt: sentAt.current, saveNow: save };
}
