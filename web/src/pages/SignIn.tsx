import { type FormEvent, useEffect, useId, useState } from "react";
import { api, errorMessage, type Schemas } from "../api/client";
import { erasureListeners } from "./Account";

const GOOGLE_LOGIN = "/api/auth/login?next=/";

/** "Sign in with Google" (the gateway's OIDC flow) and, where the stack enables it, the
 * development sign-in by email. */
export function SignIn({ signedIn }: { signedIn: () => Promise<void> }) {
  const emailId = useId(), nameId = useId();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [message, setMessage] = useState("");
  const [devLogin, setDevLogin] = useState<boolean | undefined>(undefined);
  const [erasure, setErasure] = useState<Schemas["ErasureOut"] | null>(null);
  useEffect(() => {
    erasureListeners.add(setErasure);
    return () => void erasureListeners.delete(setErasure);
  }, []);

  useEffect(() => {
    // an empty body: 422 where the development sign-in is on, 404 where it is not
    void api.POST("/api/auth/dev-login", { body: {} as { email: string } })
      .then(({ response }) => setDevLogin(response.status !== 404));
  }, []);

  const google = async () => {
    // where OpenID Connect is not configured the route answers 503 instead of redirecting
    const { response } = await api.GET("/api/auth/login", { params: { query: { next: "/" } }, redirect: "manual" });
    if (response.type === "opaqueredirect" || response.status === 302) location.assign(GOOGLE_LOGIN);
    else setMessage("Sign-in with Google is not configured here.");
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/auth/dev-login", { body: { email, name } });
    if (data) await signedIn();
    else setMessage(errorMessage(error, "Sign-in failed"));
  };
  return (
    <main id="main" className="signin">
      <h1>Resume builder</h1>
      {erasure && (
        <p role="status" className="notice" data-testid="erasure">
          {erasure.status === "erased" ? "Your account has been erased."
            : `Erasing your account: ${erasure.services.filter((s) => s.completed_at).length} of ${erasure.services.length} services done…`}
        </p>
      )}
      <section aria-labelledby="google-heading" className="panel">
        <h2 id="google-heading">Sign in</h2>
        <button type="button" className="primary" onClick={google}>Sign in with Google</button>
      </section>
      {devLogin && (
        <section aria-labelledby="dev-heading" className="panel">
          <h2 id="dev-heading">Development sign-in</h2>
          <form onSubmit={submit}>
            <div className="field">
              <label htmlFor={emailId}>Email</label>
              <input id={emailId} type="email" required autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor={nameId}>Name</label>
              <input id={nameId} autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
            </div>
            <button type="submit" className="primary">Sign in (development)</button>
          </form>
        </section>
      )}
      <p role="alert" className="message">{message}</p>
    </main>
  );
}
