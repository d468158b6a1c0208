//! `packages fetch`: shallow Git checkouts of the configured packages at their pinned refs.
//!
//! The token (`GIT_TOKEN`) reaches the server only through libgit2's credentials callback: it is
//! never put in a remote URL, `.git/config`, a process argument, a log line or an error. It is
//! sent over HTTPS, or plain HTTP to this machine only (local test servers).

use std::path::{Path, PathBuf};

use git2::{
    AutotagOption, Cred, CredentialType, Direction, ErrorClass, ErrorCode, FetchOptions, Oid, RemoteCallbacks,
    Repository,
};

use crate::error::{Error, Result};
use crate::settings::Secret;

/// What a fetch did to a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Cloned,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Checkout {
    pub action: Action,
    pub commit: String,
    /// What the ref turned out to be: tag, branch, commit or default branch.
    pub resolved: String,
}

/// One package to fetch.
pub struct Request<'a> {
    pub url: &'a str,
    /// Tag, branch or commit; `None` for the remote's default branch.
    pub reference: Option<&'a str>,
    /// The configuration variable naming the ref, for error messages.
    pub ref_var: &'a str,
    pub url_var: &'a str,
    pub dest: &'a Path,
    pub token: Option<&'a Secret>,
}

/// The URL as safe to print: any password in it replaced by `***`.
pub fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Sending a token in clear text is only acceptable to this machine.
fn token_allowed(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" => true,
        Ok(u) if u.scheme() == "http" => matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    }
}

/// How the configured ref maps onto what the remote advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A ref the remote advertises (tag or branch): fetch it shallow.
    Advertised { remote_ref: String, local_ref: String, what: String },
    /// A commit id that is not the tip of an advertised ref.
    Commit(String),
}

fn is_commit_like(text: &str) -> bool {
    (4..=40).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Picks the remote ref for `reference` from the advertisement (`(name, oid)` pairs).
fn choose(reference: Option<&str>, heads: &[(String, Oid)], default_branch: Option<&str>) -> Option<Target> {
    let advertised = |name: &str| heads.iter().any(|(n, _)| n == name);
    let Some(r) = reference else {
        let branch = default_branch?;
        let short = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        return Some(Target::Advertised {
            remote_ref: branch.to_string(),
            local_ref: format!("refs/remotes/origin/{short}"),
            what: format!("default branch {short}"),
        });
    };
    let tag = format!("refs/tags/{r}");
    if advertised(&tag) {
        return Some(Target::Advertised { remote_ref: tag.clone(), local_ref: tag, what: format!("tag {r}") });
    }
    let branch = format!("refs/heads/{r}");
    if advertised(&branch) {
        return Some(Target::Advertised {
            remote_ref: branch,
            local_ref: format!("refs/remotes/origin/{r}"),
            what: format!("branch {r}"),
        });
    }
    if r.starts_with("refs/") && advertised(r) {
        return Some(Target::Advertised { remote_ref: r.to_string(), local_ref: r.to_string(), what: r.to_string() });
    }
    is_commit_like(r).then(|| Target::Commit(r.to_lowercase()))
}

fn callbacks<'a>(
    url: &str,
    token: Option<&'a Secret>,
    on_progress: &'a (dyn Fn(String) + Sync),
) -> RemoteCallbacks<'a> {
    let token = token.filter(|_| token_allowed(url));
    let mut cb = RemoteCallbacks::new();
    let mut attempts = 0;
    cb.credentials(move |_url, username, allowed| {
        attempts += 1;
        // libgit2 calls again after a 401; a second call means the server refused the token.
        if attempts > 1 {
            return Err(git2::Error::new(ErrorCode::Auth, ErrorClass::Http, "the server rejected GIT_TOKEN"));
        }
        match token {
            Some(t) if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) => {
                Cred::userpass_plaintext(username.unwrap_or("x-access-token"), t.expose())
            }
            _ => Err(git2::Error::new(ErrorCode::Auth, ErrorClass::Http, "the server asks for credentials")),
        }
    });
    cb.transfer_progress(move |p| {
        if p.total_objects() > 0 {
            on_progress(format!(
                "{}/{} objects, {} KiB",
                p.received_objects(),
                p.total_objects(),
                p.received_bytes() / 1024
            ));
        }
        true
    });
    cb
}

/// Maps a libgit2 failure talking to `url` onto olmisctl's errors.
fn remote_error(url: &str, token: Option<&Secret>, e: &git2::Error) -> Error {
    let shown = display_url(url);
    if e.code() == ErrorCode::Auth || e.message().contains("authentication") || e.message().contains("401") {
        let hint = match token {
            None => "set GIT_TOKEN to a token with read access to the repository".to_string(),
            Some(_) if !token_allowed(url) => "GIT_TOKEN is only sent over HTTPS: use an https:// URL".to_string(),
            Some(_) => "check that GIT_TOKEN is valid and can read the repository".to_string(),
        };
        return Error::service("git", format!("{shown}: authentication failed ({})", e.message())).with_hint(hint);
    }
    Error::service("git", format!("cannot fetch from {shown}: {}", e.message()))
        .with_hint("check the URL and that the server is reachable from here")
}

/// Refuses to overwrite work: the checkout must be clean (or not exist yet).
fn open_or_init(dest: &Path) -> Result<(Repository, Option<Oid>)> {
    if !dest.exists() {
        std::fs::create_dir_all(dest).map_err(|e| Error::file(dest, format!("cannot create: {e}")))?;
    }
    let repo = match Repository::open(dest) {
        Ok(repo) if repo.path().parent() == Some(dest) || repo.workdir().is_some_and(|w| same_dir(w, dest)) => repo,
        _ => {
            let empty = std::fs::read_dir(dest).map(|mut d| d.next().is_none()).unwrap_or(false);
            if !empty {
                return Err(Error::file(dest, "exists and is not a checkout made by `packages fetch`")
                    .with_hint("move it away (or delete it) and fetch again"));
            }
            Repository::init(dest)
                .map_err(|e| Error::file(dest, format!("cannot create a Git repository: {}", e.message())))?
        }
    };
    let head = repo.head().ok().and_then(|h| h.target());
    if head.is_some() {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true);
        let statuses = repo
            .statuses(Some(&mut opts))
            .map_err(|e| Error::file(dest, format!("cannot read the checkout's status: {}", e.message())))?;
        let changed: Vec<String> = statuses.iter().filter_map(|s| s.path().ok().map(str::to_string)).take(5).collect();
        if !changed.is_empty() {
            return Err(Error::file(
                dest,
                format!("has local changes that a fetch would overwrite: {}", changed.join(", ")),
            )
            .with_hint(
                "copy your changes into the package's own repository, then delete this folder and fetch again",
            ));
        }
    }
    Ok((repo, head))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Clones or updates one package at its ref. Blocking (run it off the async runtime). A first
/// fetch that fails leaves nothing behind; a failed update leaves the previous checkout as it was.
pub fn fetch(req: &Request, on_progress: &(dyn Fn(String) + Sync)) -> Result<Checkout> {
    let fresh = !req.dest.exists();
    let result = fetch_into(req, on_progress);
    if result.is_err() && fresh {
        let _ = std::fs::remove_dir_all(req.dest);
    }
    result
}

fn fetch_into(req: &Request, on_progress: &(dyn Fn(String) + Sync)) -> Result<Checkout> {
    if url::Url::parse(req.url).is_ok_and(|u| u.password().is_some()) {
        return Err(Error::Config {
            var: req.url_var.to_string(),
            value: Some(display_url(req.url)),
            expected: "a URL without credentials".into(),
            hint: Some("put the token in GIT_TOKEN; it is sent to the server without being stored".into()),
        });
    }
    let (repo, before) = open_or_init(req.dest)?;
    match repo.find_remote("origin") {
        Ok(remote) if remote.url().ok() == Some(req.url) => {}
        Ok(_) => repo.remote_set_url("origin", req.url).map_err(|e| Error::file(req.dest, e.message().to_string()))?,
        Err(_) => {
            repo.remote("origin", req.url).map_err(|e| Error::file(req.dest, e.message().to_string()))?;
        }
    }
    let mut remote = repo.find_remote("origin").map_err(|e| Error::file(req.dest, e.message().to_string()))?;

    on_progress("listing refs".into());
    let (heads, default_branch) = {
        let conn = remote
            .connect_auth(Direction::Fetch, Some(callbacks(req.url, req.token, on_progress)), None)
            .map_err(|e| remote_error(req.url, req.token, &e))?;
        let heads: Vec<(String, Oid)> = conn
            .list()
            .map_err(|e| remote_error(req.url, req.token, &e))?
            .iter()
            .map(|h| (h.name().to_string(), h.oid()))
            .collect();
        let default_branch = conn.default_branch().ok().and_then(|b| b.as_str().ok().map(str::to_string));
        (heads, default_branch)
    };
    let target = choose(req.reference, &heads, default_branch.as_deref()).ok_or_else(|| missing_ref(req, &heads))?;

    // libgit2's local transport (file:// and plain paths) can't fetch shallow; a local copy is cheap.
    let local = !req.url.contains("://") || req.url.starts_with("file://");
    let fetch_with = |remote: &mut git2::Remote, refspecs: &[String], depth: i32| {
        let depth = if local { 0 } else { depth };
        let mut opts = FetchOptions::new();
        opts.remote_callbacks(callbacks(req.url, req.token, on_progress))
            .download_tags(AutotagOption::None)
            .depth(depth);
        remote.fetch(refspecs, Some(&mut opts), None).map_err(|e| remote_error(req.url, req.token, &e))
    };
    on_progress("fetching".into());
    let (commit, resolved) = match &target {
        Target::Advertised { remote_ref, local_ref, what } => {
            fetch_with(&mut remote, &[format!("+{remote_ref}:{local_ref}")], 1)?;
            let commit = repo.find_reference(local_ref).and_then(|r| r.peel_to_commit()).map_err(|e| {
                Error::service("git", format!("{}: {what} did not arrive: {}", display_url(req.url), e.message()))
            })?;
            (commit.id(), what.clone())
        }
        Target::Commit(sha) => {
            // A commit that is the tip of an advertised ref can come shallow; any other commit
            // needs the history that contains it.
            let tip = heads
                .iter()
                .find(|(n, oid)| oid.to_string().starts_with(sha.as_str()) && !n.ends_with("^{}") && n != "HEAD");
            match tip {
                Some((name, _)) => fetch_with(&mut remote, &[format!("+{name}:refs/olmisctl/pinned")], 1)?,
                None => fetch_with(
                    &mut remote,
                    &["+refs/heads/*:refs/remotes/origin/*".to_string(), "+refs/tags/*:refs/tags/*".to_string()],
                    i32::MAX, // libgit2's "unshallow": the whole history
                )?,
            }
            let commit =
                repo.revparse_single(sha).and_then(|o| o.peel_to_commit()).map_err(|_| missing_ref(req, &heads))?;
            let id = commit.id().to_string();
            (commit.id(), format!("commit {}", id.get(..12).unwrap_or(&id)))
        }
    };
    let object = repo.find_object(commit, None).map_err(|e| Error::file(req.dest, e.message().to_string()))?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force().remove_untracked(true);
    repo.checkout_tree(&object, Some(&mut checkout))
        .map_err(|e| Error::file(req.dest, format!("checkout failed: {}", e.message())))?;
    repo.set_head_detached(commit).map_err(|e| Error::file(req.dest, format!("checkout failed: {}", e.message())))?;
    let action = match before {
        None => Action::Cloned,
        Some(old) if old == commit => Action::Unchanged,
        Some(_) => Action::Updated,
    };
    Ok(Checkout { action, commit: commit.to_string(), resolved })
}

fn missing_ref(req: &Request, heads: &[(String, Oid)]) -> Error {
    let names = |prefix: &str| -> Vec<&str> {
        heads.iter().filter_map(|(n, _)| n.strip_prefix(prefix)).filter(|n| !n.ends_with("^{}")).take(8).collect()
    };
    let (tags, branches) = (names("refs/tags/"), names("refs/heads/"));
    let mut available = Vec::new();
    if !tags.is_empty() {
        available.push(format!("tags {}", tags.join(", ")));
    }
    if !branches.is_empty() {
        available.push(format!("branches {}", branches.join(", ")));
    }
    Error::Config {
        var: req.ref_var.to_string(),
        value: Some(req.reference.unwrap_or("").to_string()),
        expected: format!("a tag, branch or commit of {}", display_url(req.url)),
        hint: Some(if available.is_empty() {
            "the repository has no tags or branches".to_string()
        } else {
            format!("the repository has {}", available.join("; "))
        }),
    }
}

/// Extension checkouts under `.packages/extensions/` that no configured URL uses any more.
pub fn stale_checkouts(extensions_dir: &Path, configured: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(extensions_dir) else { return Vec::new() };
    let mut stale: Vec<PathBuf> =
        entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir() && !configured.contains(p)).collect();
    stale.sort();
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heads() -> Vec<(String, Oid)> {
        let oid = |s: &str| Oid::from_str(s).unwrap();
        vec![
            ("HEAD".into(), oid("1111111111111111111111111111111111111111")),
            ("refs/heads/main".into(), oid("1111111111111111111111111111111111111111")),
            ("refs/tags/v1.0.0".into(), oid("2222222222222222222222222222222222222222")),
        ]
    }

    #[test]
    fn refs_resolve_to_tags_then_branches_then_commits() {
        let h = heads();
        assert!(
            matches!(choose(Some("v1.0.0"), &h, None), Some(Target::Advertised { what, .. }) if what == "tag v1.0.0")
        );
        assert!(
            matches!(choose(Some("main"), &h, None), Some(Target::Advertised { local_ref, .. }) if local_ref == "refs/remotes/origin/main")
        );
        assert_eq!(choose(Some("ABCDEF1"), &h, None), Some(Target::Commit("abcdef1".into())));
        assert_eq!(choose(Some("nope"), &h, None), None);
        assert!(
            matches!(choose(None, &h, Some("refs/heads/main")), Some(Target::Advertised { what, .. }) if what == "default branch main")
        );
    }

    #[test]
    fn tokens_travel_only_over_https_or_to_this_machine() {
        assert!(token_allowed("https://git.example.org/a.git"));
        assert!(token_allowed("http://127.0.0.1:8080/a.git"));
        assert!(!token_allowed("http://git.example.org/a.git"));
        assert!(!token_allowed("file:///tmp/a.git"));
    }

    #[test]
    fn urls_are_printed_without_passwords() {
        assert_eq!(display_url("https://u:tok3n@host/a.git"), "https://u:***@host/a.git");
        assert_eq!(display_url("git@host:a.git"), "git@host:a.git");
    }
}
