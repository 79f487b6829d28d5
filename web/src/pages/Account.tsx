import type { UserOut } from "../api/client";

export function Account({ user }: { user: UserOut }) {
  return (
    <section aria-labelledby="account-heading">
      <h1 id="account-heading">Account</h1>
      <dl className="panel">
        <dt>Name</dt><dd>{user.name || "—"}</dd>
        <dt>Email</dt><dd>{user.email}</dd>
        <dt>Member since</dt><dd>{new Date(user.created_at).toLocaleDateString()}</dd>
      </dl>
    </section>
  );
}
