// A small client router over the History API: the gateway answers index.html for every
// path outside /api, so any of these URLs loads the app.
import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useState } from "react";

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listeners.forEach((listener) => listener());
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return path;
}

export type Route =
  | { page: "list" }
  | { page: "trash" }
  | { page: "signin" }
  | { page: "account" }
  | { page: "editor" | "history" | "shares" | "rating"; id: string }
  | { page: "missing" };

export function parse(path: string): Route {
  const parts = path.split("/").filter(Boolean);
  if (parts.length === 0) return { page: "list" };
  if (parts.length === 1 && ["trash", "signin", "account"].includes(parts[0]))
    return { page: parts[0] as "trash" | "signin" | "account" };
  if (parts[0] === "resumes" && parts.length === 2) return { page: "editor", id: parts[1] };
  if (parts[0] === "resumes" && parts.length === 3 && ["history", "shares", "rating"].includes(parts[2]))
    return { page: parts[2] as "history" | "shares" | "rating", id: parts[1] };
  return { page: "missing" };
}

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}
