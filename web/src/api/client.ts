// Every call to a route the OpenAPI describes goes through this typed client (openapi-fetch
// over the types generated from the gateway's merged document: scripts/generate-types.sh).
// Same origin: the session cookie goes along, and the browser's Origin header satisfies the
// gateway's CSRF rule on unsafe methods.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });

export type Schemas = components["schemas"];
export type ResumeOut = Schemas["ResumeOut"];
export type ResumeDocument = Schemas["ResumeDocument"];
export type Section = Schemas["Section"];
export type Item = Schemas["Item"];
export type Contact = Schemas["Contact-Output"];
export type JobOut = Schemas["JobOut"];
export type TemplateOut = Schemas["TemplateOut"];
export type HistoryEntry = Schemas["HistoryEntry"];
export type ShareOut = Schemas["ShareOut"];
export type RatingJobOut = Schemas["RatingJobOut"];
export type UserOut = Schemas["UserOut"];

export const EXPORT_FORMATS = ["native", "json-resume", "markdown", "text", "docx"] as const;

/** The message of an error answer (the shared `ErrorResponse` shape), or a fallback. */
export function errorMessage(error: unknown, fallback = "Something went wrong"): string {
  const body = error as { error?: { message?: string; code?: string } } | undefined;
  return body?.error?.message ?? fallback;
}

export function errorCode(error: unknown): string | undefined {
  return (error as { error?: { code?: string } } | undefined)?.error?.code;
}

/** The version a 409 `version_conflict` names as current. */
export function currentVersion(error: unknown): number | undefined {
  return (error as { error?: { current_version?: number } } | undefined)?.error?.current_version;
}
