import { type FormEvent, useId, useState } from "react";
import { api, errorMessage } from "../api/client";

/** "Sign in with Google" (the gateway's OIDC flow) and, where the stack enables it, the
 * development sign-in by email. */
export function SignIn({ signedIn }: { signedIn: () => Promise<void> }) {
  const emailId = useId(), nameId = useId();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [message, setMessage] = useState("");
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error, response } = await api.POST("/api/auth/dev-login", { body: { email, name } });
    if (data) await signedIn();
    else setMessage(response.status === 404 ? "The development sign-in is not enabled here." : errorMessage(error, "Sign-in failed"));
  };
  return (
    <main id="main" className="signin">
      <h1>Resume builder</h1>
      <section aria-labelledby="google-heading" className="panel">
        <h2 id="google-heading">Sign in</h2>
        <a className="button primary" href="/api/auth/login?next=/">Sign in with Google</a>
      </section>
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
        <p role="alert" className="message">{message}</p>
      </section>
    </main>
  );
}
