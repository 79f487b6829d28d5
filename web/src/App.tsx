import { useCallback, useEffect, useState } from "react";
import { api, type UserOut } from "./api/client";
import { Account } from "./pages/Account";
import { Editor } from "./pages/Editor";
import { History } from "./pages/History";
import { ResumeList } from "./pages/ResumeList";
import { Rating } from "./pages/Rating";
import { Shares } from "./pages/Shares";
import { SignIn } from "./pages/SignIn";
import { Trash } from "./pages/Trash";
import { closeLive } from "./live";
import { Link, navigate, parse, usePath } from "./router";

export function App() {
  const path = usePath();
  const route = parse(path);
  const [user, setUser] = useState<UserOut | null | undefined>(undefined);

  const loadUser = useCallback(async () => {
    const { data } = await api.GET("/api/user/me");
    setUser(data ?? null);
  }, []);
  useEffect(() => void loadUser(), [loadUser]);

  useEffect(() => {
    if (user === null && route.page !== "signin") navigate("/signin", true);
  }, [user, route.page]);

  useEffect(() => {
    const titles: Record<string, string> = {
      list: "Your resumes", trash: "Trash", signin: "Sign in", account: "Account",
      editor: "Edit resume", history: "History", shares: "Share links", rating: "Rating",
      missing: "Not found",
    };
    document.title = `${titles[route.page]} · Resume builder`;
  }, [route.page]);

  const signOut = async () => {
    closeLive();
    await api.POST("/api/auth/logout");
    setUser(null);
    navigate("/signin", true);
  };

  if (user === undefined) return <p className="loading" role="status">Loading…</p>;
  if (route.page === "signin" || user === null)
    return (
      <SignIn
        signedIn={async () => {
          await loadUser();
          navigate("/", true);
        }}
      />
    );

  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <nav aria-label="Main">
          <Link href="/" className="brand">Resume builder</Link>
          <Link href="/">Resumes</Link>
          <Link href="/trash">Trash</Link>
          <Link href="/account">Account</Link>
        </nav>
        <div className="who">
          <span>{user.name || user.email}</span>
          <button type="button" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === "list" && <ResumeList />}
        {route.page === "trash" && <Trash />}
        {route.page === "account" && (
          <Account user={user} erased={() => {
            setUser(null);
            navigate("/signin", true);
          }} />
        )}
        {route.page === "editor" && <Editor key={route.id} id={route.id} />}
        {route.page === "history" && <History key={route.id} id={route.id} />}
        {route.page === "shares" && <Shares key={route.id} id={route.id} />}
        {route.page === "rating" && <Rating key={route.id} id={route.id} />}
        {route.page === "missing" && (
          <section>
            <h1>Not found</h1>
            <p><Link href="/">Back to your resumes</Link></p>
          </section>
        )}
      </main>
    </>
  );
}
