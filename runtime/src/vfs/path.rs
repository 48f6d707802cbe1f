//! Guest path resolution: components, `.` and `..`, symlinks, the root.
//!
//! The resolver works on guest paths only; what a name *is* comes from a
//! lookup callback (the host filesystem or a synthetic one). Absolute symlink
//! targets restart at the guest root and `..` at the root stays there, so no
//! path ever leaves the root. After [`MAX_SYMLINKS`] links: ELOOP.

use crate::error::Result;
use crate::return_errno;
use std::collections::VecDeque;

/// Linux's limit on symlinks followed in one lookup (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;
/// Linux's `NAME_MAX`.
pub const NAME_MAX: usize = 255;
/// Linux's `PATH_MAX`, including the NUL.
pub const PATH_MAX: usize = 4096;

/// What a name turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Dir,
    /// A regular file, device, socket or FIFO.
    File,
    Symlink(Vec<u8>),
    Missing,
}

/// Guest paths are kept as `String`s, but a Linux name is any bytes: a byte
/// that is not part of valid UTF-8 (a Latin-1 name, say) is held as one
/// character of a private range, U+10FF80 + (byte - 0x80), and becomes that
/// byte again wherever a path leaves the runtime ([`to_bytes`]: host calls,
/// and what the guest reads back). No name loses a byte. A name that really
/// contains one of those 128 private characters would come out as raw bytes.
const ESCAPE_BASE: u32 = 0x10FF80;

/// A guest name or path as bytes → the `String` the runtime keeps.
pub fn from_bytes(mut b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    loop {
        match std::str::from_utf8(b) {
            Ok(rest) => {
                s.push_str(rest);
                return s;
            }
            Err(e) => {
                let (valid, bad) = b.split_at(e.valid_up_to());
                s.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for &byte in &bad[..n] {
                    s.push(char::from_u32(ESCAPE_BASE + u32::from(byte) - 0x80).unwrap_or('\u{FFFD}'));
                }
                b = &bad[n..];
            }
        }
    }
}

/// The bytes of a path kept by [`from_bytes`].
pub fn to_bytes(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match u32::from(c).checked_sub(ESCAPE_BASE) {
            Some(off) if off < 0x80 => out.push(0x80 + off as u8),
            _ => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// A kept path for a message: bytes that are not UTF-8 show as U+FFFD.
pub fn display(s: &str) -> String {
    String::from_utf8_lossy(&to_bytes(s)).into_owned()
}

/// Joins normalized components into an absolute guest path.
pub fn join(components: &[Vec<u8>]) -> String {
    if components.is_empty() {
        return "/".to_string();
    }
    let mut s = String::new();
    for c in components {
        s.push('/');
        s.push_str(&from_bytes(c));
    }
    s
}

/// Splits an absolute, normalized guest path into components.
pub fn components(abs: &str) -> Vec<Vec<u8>> {
    to_bytes(abs).split(|&b| b == b'/').filter(|c| !c.is_empty()).map(<[u8]>::to_vec).collect()
}

/// Resolves `path` relative to the absolute guest directory `start`.
///
/// `follow_last`: whether a symlink in the last component is followed (a
/// trailing slash always follows). Returns the normalized absolute guest path
/// and what its last component is (`Missing` is fine for the last one: the
/// caller may be about to create it).
pub fn resolve(
    start: &str,
    path: &[u8],
    follow_last: bool,
    lookup: &mut dyn FnMut(&str) -> Result<Lookup>,
) -> Result<(String, Lookup)> {
    if path.is_empty() {
        return_errno!(ENOENT);
    }
    if path.len() >= PATH_MAX {
        return_errno!(ENAMETOOLONG);
    }
    let mut stack: Vec<Vec<u8>> = if path[0] == b'/' { Vec::new() } else { components(start) };
    let trailing_slash = path.ends_with(b"/");
    let mut todo: VecDeque<Vec<u8>> = path.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
    let mut links = 0u32;
    let mut last = Lookup::Dir;
    while let Some(c) = todo.pop_front() {
        let is_last = todo.iter().all(|c| c.is_empty() || c == b".");
        if c.is_empty() || c == b"." {
            continue;
        }
        if c == b".." {
            stack.pop();
            last = Lookup::Dir;
            continue;
        }
        if c.len() > NAME_MAX {
            return_errno!(ENAMETOOLONG);
        }
        stack.push(c);
        let here = join(&stack);
        let found = lookup(&here)?;
        match found {
            Lookup::Symlink(target) if !is_last || follow_last || trailing_slash => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return_errno!(ELOOP);
                }
                stack.pop();
                if target.is_empty() {
                    return_errno!(ENOENT);
                }
                if target[0] == b'/' {
                    stack.clear();
                }
                for part in target.split(|&b| b == b'/').rev() {
                    todo.push_front(part.to_vec());
                }
                last = Lookup::Dir;
            }
            Lookup::File if !is_last => return_errno!(ENOTDIR),
            Lookup::Missing if !is_last => return_errno!(ENOENT),
            other => last = other,
        }
    }
    if trailing_slash && last == Lookup::File {
        return_errno!(ENOTDIR);
    }
    Ok((join(&stack), last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Errno;
    use std::collections::HashMap;

    fn fs() -> HashMap<&'static str, Lookup> {
        let mut m = HashMap::new();
        m.insert("/a", Lookup::Dir);
        m.insert("/a/b", Lookup::Dir);
        m.insert("/a/f", Lookup::File);
        m.insert("/a/abs", Lookup::Symlink(b"/a/b".to_vec()));
        m.insert("/a/rel", Lookup::Symlink(b"b/../f".to_vec()));
        m.insert("/a/up", Lookup::Symlink(b"../../../..".to_vec()));
        m.insert("/a/loop", Lookup::Symlink(b"loop".to_vec()));
        m.insert("/a/escape", Lookup::Symlink(b"/../../etc".to_vec()));
        m
    }

    fn r(start: &str, p: &str, follow: bool) -> std::result::Result<String, Errno> {
        let m = fs();
        resolve(start, p.as_bytes(), follow, &mut |s| Ok(m.get(s).cloned().unwrap_or(Lookup::Missing)))
            .map(|(s, _)| s)
            .map_err(|e| e.errno)
    }

    #[test]
    fn names_keep_every_byte() {
        for name in [&b"caf\xe9"[..], b"n\xfe\xff", b"ok", b"\xc3", b"a\xe2\x82b", "d\u{e9}j\u{e0}".as_bytes()] {
            let kept = from_bytes(name);
            assert_eq!(to_bytes(&kept), name, "{kept:?}");
        }
        assert_eq!(from_bytes("caf\u{e9}".as_bytes()), "caf\u{e9}", "valid UTF-8 is kept as it is");
        let p = join(&[b"d\xff".to_vec(), b"x".to_vec()]);
        assert_eq!(components(&p), vec![b"d\xff".to_vec(), b"x".to_vec()]);
    }

    #[test]
    fn dots_and_root() {
        assert_eq!(r("/", "/a/./b/..", true).unwrap(), "/a");
        assert_eq!(r("/a", "../../..", true).unwrap(), "/");
        assert_eq!(r("/a", "b", true).unwrap(), "/a/b");
        assert_eq!(r("/", "", true), Err(Errno::ENOENT));
    }

    #[test]
    fn symlinks_stay_inside_root() {
        assert_eq!(r("/", "/a/abs", true).unwrap(), "/a/b");
        assert_eq!(r("/", "/a/abs", false).unwrap(), "/a/abs");
        assert_eq!(r("/", "/a/rel", true).unwrap(), "/a/f");
        assert_eq!(r("/", "/a/up/a", true).unwrap(), "/a");
        assert_eq!(r("/", "/a/escape", true).unwrap(), "/etc");
        assert_eq!(r("/", "/a/abs/", false).unwrap(), "/a/b");
    }

    #[test]
    fn errors() {
        assert_eq!(r("/", "/a/loop", true), Err(Errno::ELOOP));
        assert_eq!(r("/", "/a/loop", false).unwrap(), "/a/loop");
        assert_eq!(r("/", "/a/f/x", true), Err(Errno::ENOTDIR));
        assert_eq!(r("/", "/a/f/", true), Err(Errno::ENOTDIR));
        assert_eq!(r("/", "/nope/x", true), Err(Errno::ENOENT));
        assert_eq!(r("/", "/a/new", true).unwrap(), "/a/new");
        let long = format!("/{}", "x".repeat(256));
        assert_eq!(r("/", &long, true), Err(Errno::ENAMETOOLONG));
    }
}
