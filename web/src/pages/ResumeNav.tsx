import { Link } from "../router";

const PAGES = [["editor", "Edit", ""], ["history", "History", "/history"], ["shares", "Share", "/shares"],
  ["rating", "Rating", "/rating"]] as const;

export function ResumeNav({ id, current }: { id: string; current: string }) {
  return (
    <nav aria-label="This resume" className="tabs">
      {PAGES.map(([page, label, suffix]) => (
        <Link key={page} href={`/resumes/${id}${suffix}`} aria-current={page === current ? "page" : undefined}>{label}</Link>
      ))}
    </nav>
  );
}
