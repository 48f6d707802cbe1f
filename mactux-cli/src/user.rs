//! `mactux run --user USER[:GROUP]`: who the guest starts as. USER and
//! GROUP are numbers or names; names are looked up in the guest's
//! /etc/passwd and /etc/group (the chosen root's, or the host's own files,
//! read only, when no root was chosen), and a named user gets the
//! supplementary groups /etc/group lists it in, as login, su and
//! initgroups(3) give them.

use mactux_runtime::GuestUser;
use std::path::Path;

/// `USER[:GROUP]` as given: each part a number or a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    pub user: String,
    pub group: Option<String>,
}

/// clap's parser: both parts non-empty, and no `(u32)-1`.
pub fn parse(s: &str) -> Result<UserSpec, String> {
    let (user, group) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    for part in std::iter::once(user).chain(group) {
        if part.is_empty() || part.contains(['\n', ':']) {
            return Err(format!("`{s}` is not USER or USER:GROUP (each a name or a number)"));
        }
        if part == u32::MAX.to_string() {
            return Err(format!("{part} is not a valid id"));
        }
    }
    Ok(UserSpec { user: user.to_string(), group: group.map(str::to_string) })
}

/// The lines of an /etc file as fields; a missing file has none.
fn entries(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(':').map(str::to_string).collect())
        .collect()
}

fn id(s: &str) -> Option<u32> {
    s.parse().ok().filter(|&n| n != u32::MAX)
}

/// The guest's credentials for `spec`, with names looked up in `etc`.
pub fn resolve(spec: &UserSpec, etc: &Path) -> Result<GuestUser, String> {
    let passwd_path = etc.join("passwd");
    let group_path = etc.join("group");
    let passwd = entries(&passwd_path);
    let groups = entries(&group_path);
    // passwd: name:x:uid:gid:...
    let by_name = |name: &str| passwd.iter().find(|f| f.len() >= 4 && f[0] == name);
    let (uid, login, login_gid) = match id(&spec.user) {
        Some(uid) => {
            let gid = passwd.iter().find(|f| f.len() >= 4 && id(&f[2]) == Some(uid)).and_then(|f| id(&f[3]));
            (uid, None, gid)
        }
        None => {
            let f = by_name(&spec.user).ok_or_else(|| format!("--user: no user `{}` in {}", spec.user, passwd_path.display()))?;
            let uid = id(&f[2]).ok_or_else(|| format!("--user: the entry of `{}` in {} has no valid uid", spec.user, passwd_path.display()))?;
            (uid, Some(spec.user.as_str()), id(&f[3]))
        }
    };
    // group: name:x:gid:member,member
    let gid = match &spec.group {
        None => login_gid.unwrap_or(uid),
        Some(g) => match id(g) {
            Some(gid) => gid,
            None => groups
                .iter()
                .find(|f| f.len() >= 3 && f[0] == *g)
                .and_then(|f| id(&f[2]))
                .ok_or_else(|| format!("--user: no group `{g}` in {}", group_path.display()))?,
        },
    };
    let supplementary = match login {
        // initgroups(name, gid): the primary group and every group listing the user.
        Some(name) => {
            let mut list = vec![gid];
            for f in &groups {
                let lists_user = f.len() >= 4 && f[3].split(',').any(|m| m.trim() == name);
                if let (true, Some(g)) = (lists_user, f.get(2).and_then(|g| id(g))) {
                    list.push(g);
                }
            }
            list.sort_unstable();
            list.dedup();
            list
        }
        // A number names no login: root starts in its own group, as a
        // login as root does; anyone else with none.
        None if uid == 0 && gid == 0 => vec![0],
        None => Vec::new(),
    };
    Ok(GuestUser { uid, gid, groups: supplementary })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etc() -> tempfile_dir::Dir {
        let d = tempfile_dir::Dir::new();
        std::fs::write(d.0.join("passwd"), "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1001:1001::/home/alice:/bin/sh\nbob:x:1002:100::/:/bin/sh\n").unwrap();
        std::fs::write(d.0.join("group"), "root:x:0:\nusers:x:100:alice\nalice:x:1001:\naudio:x:29:bob,alice\nstaff:x:50:\n").unwrap();
        d
    }

    /// A scratch directory removed when dropped (no dev-dependency for one test).
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let p = std::env::temp_dir().join(format!("mactux-user-test-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn r(s: &str, etc: &Path) -> Result<(u32, u32, Vec<u32>), String> {
        resolve(&parse(s)?, etc).map(|u| (u.uid, u.gid, u.groups))
    }

    #[test]
    fn names_and_numbers() {
        let d = etc();
        assert_eq!(r("alice", &d.0), Ok((1001, 1001, vec![29, 100, 1001])));
        assert_eq!(r("bob:staff", &d.0), Ok((1002, 50, vec![29, 50])));
        assert_eq!(r("bob", &d.0), Ok((1002, 100, vec![29, 100])));
        assert_eq!(r("1002", &d.0), Ok((1002, 100, vec![])), "a number keeps no supplementary groups");
        assert_eq!(r("4000:audio", &d.0), Ok((4000, 29, vec![])));
        assert_eq!(r("0:0", &d.0), Ok((0, 0, vec![0])));
        assert_eq!(r("root", &d.0), Ok((0, 0, vec![0])));
        let e = r("carol", &d.0).unwrap_err();
        assert!(e.contains("no user `carol`") && e.contains("passwd"), "{e}");
        let e = r("alice:wheel", &d.0).unwrap_err();
        assert!(e.contains("no group `wheel`") && e.contains("group"), "{e}");
        assert!(parse("").is_err() && parse("a:").is_err() && parse("4294967295").is_err());
    }
}
