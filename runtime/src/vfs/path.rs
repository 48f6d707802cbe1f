//! Guest path resolution: components, `.` and `..`, symlinks, the root.
//!
//! The resolver works on guest paths only; what a name *is* comes from a
//! lookup callback (the host filesystem or a synthetic one). Absolute symlink
//! targets restart at the guest root and `..` at the root stays there, so no
//! path ever leaves the root. After [`MAX_SYMLINKS`] links: ELOOP.

use crate::error::Result;
use crate::{return_errno, return_errno_with_message};
use std::borrow::Cow;
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
/// and what the guest reads back). No name loses a byte: a name that really
/// contains one of those 128 private characters (valid UTF-8) has each of
/// its four bytes escaped, so it too comes back as it was.
const ESCAPE_BASE: u32 = 0x10FF80;

fn push_escaped(s: &mut String, byte: u8) {
    s.push(char::from_u32(ESCAPE_BASE + u32::from(byte) - 0x80).unwrap_or('\u{FFFD}'));
}

/// Valid UTF-8 kept as it is, but for characters of the escape range.
fn push_valid(s: &mut String, valid: &str) {
    for c in valid.chars() {
        if u32::from(c) >= ESCAPE_BASE {
            for &byte in c.encode_utf8(&mut [0; 4]).as_bytes() {
                push_escaped(s, byte);
            }
        } else {
            s.push(c);
        }
    }
}

/// A guest name or path as bytes → the `String` the runtime keeps.
pub fn from_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    push_bytes(&mut s, b);
    s
}

/// Appends a guest name or path, as bytes, to a kept `String` (see
/// [`from_bytes`]), without a `String` of its own in between.
pub fn push_bytes(s: &mut String, mut b: &[u8]) {
    // Plain ASCII, the common case, has nothing to escape.
    if b.is_ascii() {
        // ASCII is valid UTF-8.
        s.push_str(std::str::from_utf8(b).unwrap_or_default());
        return;
    }
    loop {
        match std::str::from_utf8(b) {
            Ok(rest) => {
                push_valid(s, rest);
                return;
            }
            Err(e) => {
                let (valid, bad) = b.split_at(e.valid_up_to());
                push_valid(s, std::str::from_utf8(valid).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for &byte in &bad[..n] {
                    push_escaped(s, byte);
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
        push_bytes(&mut s, c);
    }
    s
}

/// Splits an absolute, normalized guest path into components.
pub fn components(abs: &str) -> Vec<Vec<u8>> {
    to_bytes(abs).split(|&b| b == b'/').filter(|c| !c.is_empty()).map(<[u8]>::to_vec).collect()
}

/// A tree the resolver walks: the host filesystem under the guest root with
/// the synthetic mounts (vfs/mod.rs), or an in-memory one (tests, fuzzing).
///
/// A `Dir` is a handle on a directory that stays valid whatever happens to
/// its name later (an open host directory fd), so the walk never looks a
/// name up twice and never follows anything the tree itself did not report.
pub trait Tree {
    type Dir: Clone;
    /// The guest's `/`.
    fn root(&mut self) -> Result<Self::Dir>;
    /// What `name` in `dir` is, a symlink not followed. `path` is the guest
    /// path of the name (`dir`'s path and `name`).
    fn lookup(&mut self, dir: &Self::Dir, path: &str, name: &[u8]) -> Result<Lookup>;
    /// Enters the directory `name` in `dir`; `Ok(Err(what))` when `name` is
    /// not a directory (a symlink is reported, never followed).
    fn enter(&mut self, dir: &Self::Dir, path: &str, name: &[u8]) -> Result<std::result::Result<Self::Dir, Lookup>>;
    /// EACCES unless names may be looked up in `dir` (search permission,
    /// may_lookup in fs/namei.c). A tree without permissions allows all.
    fn may_search(&mut self, _dir: &Self::Dir) -> Result<()> {
        Ok(())
    }
    /// Enters the directories `names` (two or more plain names, none `.`
    /// or `..`), each inside the one before, from `dir`, whose guest path is
    /// `base`, in one step: what a walk of them one by one would reach,
    /// when it would meet no symlink, no mount point and no permission the
    /// tree does not leave to the host. `None` when the tree cannot tell
    /// that at once: the caller then walks them one by one, which also
    /// gives every error its exact answer.
    fn enter_all(&mut self, _dir: &Self::Dir, _base: &str, _names: &[&[u8]]) -> Option<Self::Dir> {
        None
    }
}

/// Whether `c` is a name to look up (not empty, `.` or `..`).
fn is_plain(c: &[u8]) -> bool {
    !c.is_empty() && c != b"." && c != b".."
}

/// What [`enter_leading`] did.
enum Leading {
    /// The run was entered.
    Entered,
    /// There was no run of two directories to try.
    NoRun,
    /// The tree refused this many directories at once: they are walked one
    /// by one, and no run is tried again before they are (or a symlink
    /// changes the way).
    Refused(usize),
}

/// Tries to enter, at once (`Tree::enter_all`), the directories at the
/// front of `todo` that come before the path's last name; on success they
/// leave `todo` and the stack holds them as one entry named `a/b/c`.
fn enter_leading<T: Tree>(tree: &mut T, root: &T::Dir, stack: &mut DirStack<T::Dir>, todo: &mut VecDeque<Cow<'_, [u8]>>) -> Leading {
    // The leading run of plain names (empty components between them are
    // `//`, nothing), then whether a name still follows it.
    let mut run = 0usize;
    let mut taken = 0;
    for c in todo.iter() {
        if c.is_empty() {
            taken += 1;
            continue;
        }
        if !is_plain(c) {
            break;
        }
        run += 1;
        taken += 1;
    }
    let more = todo.iter().skip(taken).any(|c| !c.is_empty() && **c != *b".");
    // The last name of the path is looked up, not entered.
    let dirs = if more { run } else { run.saturating_sub(1) };
    if dirs < 2 {
        return Leading::NoRun;
    }
    let names: Vec<&[u8]> = todo.iter().filter(|c| !c.is_empty()).take(dirs).map(|c| &**c).collect();
    let base = if stack.is_empty() { String::from("/") } else { join_stack(stack) };
    let top = stack.last().map_or(root, |(_, d)| d);
    let Some(d) = tree.enter_all(top, &base, &names) else { return Leading::Refused(dirs) };
    let joined = names.join(&b'/');
    let mut left = dirs;
    while left > 0 {
        if let Some(c) = todo.pop_front() {
            if !c.is_empty() {
                left -= 1;
            }
        } else {
            break;
        }
    }
    stack.push((joined, d));
    Leading::Entered
}

/// `..` from the top of the stack. An entry that holds several names
/// (`enter_leading`) gives back all but its last, entered again from the
/// entry below it.
fn pop_dir<T: Tree>(tree: &mut T, root: &T::Dir, stack: &mut DirStack<T::Dir>) -> Result<()> {
    let Some((name, _)) = stack.pop() else { return Ok(()) };
    let Some(cut) = name.iter().rposition(|&b| b == b'/') else { return Ok(()) };
    let names: Vec<&[u8]> = name[..cut].split(|&b| b == b'/').collect();
    let base = if stack.is_empty() { String::from("/") } else { join_stack(stack) };
    let top = stack.last().map_or(root, |(_, d)| d).clone();
    let d = if names.len() >= 2 { tree.enter_all(&top, &base, &names) } else { None };
    let d = match d {
        Some(d) => d,
        // One by one: the names were entered a moment ago.
        None => {
            let mut d = top;
            let mut here = base;
            for n in &names {
                here = if here == "/" { format!("/{}", from_bytes(n)) } else { format!("{here}/{}", from_bytes(n)) };
                d = match tree.enter(&d, &here, n)? {
                    Ok(d) => d,
                    Err(_) => return_errno_with_message!(ENOENT, "a directory of the path is gone"),
                };
            }
            d
        }
    };
    stack.push((name[..cut].to_vec(), d));
    Ok(())
}

/// The guest path of the directory a stack ends in.
fn join_stack<D>(stack: &[(Vec<u8>, D)]) -> String {
    join_stack_with(stack, 0)
}

/// [`join_stack`], with room for `more` bytes after it.
fn join_stack_with<D>(stack: &[(Vec<u8>, D)], more: usize) -> String {
    let len = stack.iter().map(|(c, _)| c.len() + 1).sum::<usize>() + more;
    let mut s = String::with_capacity(len);
    for (c, _) in stack {
        s.push('/');
        push_bytes(&mut s, c);
    }
    s
}

/// A resolved path: its normalized guest name, and its last component as a
/// name in a held directory.
pub struct Walked<D> {
    pub guest: String,
    /// The directory holding the last component; the directory itself when
    /// `name` is empty (the path ended in `/`, `.` or `..`).
    pub parent: D,
    /// The last component, or empty.
    pub name: Vec<u8>,
    /// What the last component is (`Missing` is fine: the caller may be
    /// about to create it).
    pub kind: Lookup,
}

/// The directories a walk holds, outermost first, each with the name it
/// was entered by (the root itself is not in it).
pub type DirStack<D> = Vec<(Vec<u8>, D)>;

/// Enters every component of the absolute, normalized guest directory
/// `dir`: the stack a walk relative to it starts from.
pub fn walk_dirs<T: Tree>(tree: &mut T, dir: &str) -> Result<DirStack<T::Dir>> {
    let root = tree.root()?;
    let mut stack: DirStack<T::Dir> = Vec::new();
    let all = components(dir);
    if all.len() >= 2 {
        let names: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        if let Some(d) = tree.enter_all(&root, "/", &names) {
            stack.push((names.join(&b'/'), d));
            return Ok(stack);
        }
    }
    for c in all {
        let here = child_path(&stack, &c);
        let top = stack.last().map_or(&root, |(_, d)| d);
        match tree.enter(top, &here, &c)? {
            Ok(d) => stack.push((c, d)),
            Err(_) => return_errno_with_message!(ENOENT, "the starting directory is gone"),
        }
    }
    Ok(stack)
}

/// Resolves `path` relative to the directory `start` was walked to
/// ([`walk_dirs`]; ignored for an absolute path).
///
/// `follow_last`: whether a symlink in the last component is followed (a
/// trailing slash or `.` always follows). `..` pops back to the directory
/// handle the walk came from, and at the root stays there; an absolute
/// symlink target restarts at the root; so no walk leaves the root, whatever
/// the tree holds.
pub fn resolve<T: Tree>(tree: &mut T, start: DirStack<T::Dir>, path: &[u8], follow_last: bool) -> Result<Walked<T::Dir>> {
    if path.is_empty() {
        return_errno!(ENOENT);
    }
    if path.len() >= PATH_MAX {
        return_errno!(ENAMETOOLONG);
    }
    let root = tree.root()?;
    let mut stack = if path[0] == b'/' { Vec::new() } else { start };
    // The path's own names are borrowed; a symlink's are owned.
    let mut todo: VecDeque<Cow<'_, [u8]>> = path.split(|&b| b == b'/').map(Cow::Borrowed).collect();
    let mut links = 0u32;
    // Names still to walk one by one after a refused run.
    let mut one_by_one = 0usize;
    loop {
        if one_by_one == 0 {
            match enter_leading(tree, &root, &mut stack, &mut todo) {
                Leading::Entered => continue,
                Leading::Refused(n) => one_by_one = n,
                Leading::NoRun => {}
            }
        }
        let Some(c) = todo.pop_front() else { break };
        if c.is_empty() {
            continue;
        }
        one_by_one = one_by_one.saturating_sub(1);
        // Every component, `.` and `..` too, is looked up in the directory
        // reached so far (link_path_walk calls may_lookup for each).
        tree.may_search(stack.last().map_or(&root, |(_, d)| d))?;
        if *c == *b"." {
            continue;
        }
        if *c == *b".." {
            pop_dir(tree, &root, &mut stack)?;
            continue;
        }
        if c.len() > NAME_MAX {
            return_errno!(ENAMETOOLONG);
        }
        let is_last = todo.iter().all(|c| c.is_empty() || **c == *b".");
        // `name/` and `name/.` ask for a directory, through a symlink if need be.
        let needs_dir = is_last && !todo.is_empty();
        let here = child_path(&stack, &c);
        let top = stack.last().map_or(&root, |(_, d)| d);
        let found = if is_last {
            match tree.lookup(top, &here, &c)? {
                Lookup::Symlink(t) if follow_last || needs_dir => Lookup::Symlink(t),
                Lookup::File if needs_dir => return_errno!(ENOTDIR),
                kind => return Ok(Walked { guest: here, parent: top.clone(), name: c.into_owned(), kind }),
            }
        } else {
            match tree.enter(top, &here, &c)? {
                Ok(d) => {
                    stack.push((c.into_owned(), d));
                    continue;
                }
                Err(Lookup::Symlink(t)) => Lookup::Symlink(t),
                Err(Lookup::File) => return_errno!(ENOTDIR),
                Err(_) => return_errno!(ENOENT),
            }
        };
        if let Lookup::Symlink(target) = found {
            links += 1;
            if links > MAX_SYMLINKS {
                return_errno!(ELOOP);
            }
            if target.is_empty() {
                return_errno!(ENOENT);
            }
            if target[0] == b'/' {
                stack.clear();
            }
            one_by_one = 0;
            for part in target.split(|&b| b == b'/').rev() {
                todo.push_front(Cow::Owned(part.to_vec()));
            }
        }
    }
    // The path ended in a directory already entered (`/`, `.`, `..`): the
    // handle itself, not its name, as Linux acts on the directory it
    // reached (stat(".") of a renamed or removed working directory).
    match stack.pop() {
        None => Ok(Walked { guest: "/".to_string(), parent: root, name: Vec::new(), kind: Lookup::Dir }),
        Some((name, dir)) => Ok(Walked { guest: child_path(&stack, &name), parent: dir, name: Vec::new(), kind: Lookup::Dir }),
    }
}

/// The guest path of `name` inside the directory the stack ends in.
fn child_path<D>(stack: &[(Vec<u8>, D)], name: &[u8]) -> String {
    let mut s = join_stack_with(stack, name.len() + 1);
    s.push('/');
    push_bytes(&mut s, name);
    s
}

/// Whether `path`, as written, ends in `/` (and is not `/` itself).
pub fn has_trailing_slash(path: &[u8]) -> bool {
    path.len() > 1 && path.ends_with(b"/")
}

/// The last component of `path` as written (before normalisation).
pub fn last_component(path: &[u8]) -> &[u8] {
    let trimmed = trim_trailing_slashes(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// `path`, as written, without its trailing slashes.
pub fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 0 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
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

    /// An in-memory tree keyed by guest path; a directory handle is its path.
    /// With `batch`, it enters runs of directories at once (`enter_all`)
    /// and counts how often it did.
    pub(super) struct MapTree(pub HashMap<&'static str, Lookup>, pub bool, pub u32, pub u32);

    impl Tree for MapTree {
        fn enter_all(&mut self, _dir: &String, base: &str, names: &[&[u8]]) -> Option<String> {
            if !self.1 {
                return None;
            }
            self.3 += 1;
            let mut here = base.trim_end_matches('/').to_string();
            for n in names {
                here = format!("{here}/{}", from_bytes(n));
                if self.0.get(here.as_str()) != Some(&Lookup::Dir) {
                    return None;
                }
            }
            self.2 += 1;
            Some(here)
        }
        type Dir = String;
        fn root(&mut self) -> Result<String> {
            Ok(String::new())
        }
        fn lookup(&mut self, _dir: &String, path: &str, _name: &[u8]) -> Result<Lookup> {
            Ok(self.0.get(path).cloned().unwrap_or(Lookup::Missing))
        }
        fn enter(&mut self, _dir: &String, path: &str, _name: &[u8]) -> Result<std::result::Result<String, Lookup>> {
            Ok(match self.0.get(path).cloned().unwrap_or(Lookup::Missing) {
                Lookup::Dir => Ok(path.to_string()),
                other => Err(other),
            })
        }
    }

    fn walk_with(batch: bool, start: &str, p: &str, follow: bool) -> std::result::Result<Walked<String>, Errno> {
        let mut tree = MapTree(fs(), batch, 0, 0);
        let start = walk_dirs(&mut tree, start).map_err(|e| e.errno)?;
        resolve(&mut tree, start, p.as_bytes(), follow).map_err(|e| e.errno)
    }

    /// The walk, one name at a time and with runs of directories entered
    /// at once: both must reach the same place.
    fn walk(start: &str, p: &str, follow: bool) -> std::result::Result<Walked<String>, Errno> {
        let one = walk_with(false, start, p, follow);
        let batched = walk_with(true, start, p, follow);
        let view = |w: &std::result::Result<Walked<String>, Errno>| {
            w.as_ref().map(|w| (w.guest.clone(), w.parent.clone(), w.name.clone(), w.kind.clone())).map_err(|e| *e)
        };
        assert_eq!(view(&one), view(&batched), "{start} {p} {follow}");
        batched
    }

    fn r(start: &str, p: &str, follow: bool) -> std::result::Result<String, Errno> {
        walk(start, p, follow).map(|w| w.guest)
    }

    #[test]
    fn names_keep_every_byte() {
        let private = "\u{10FFAE}x".as_bytes();
        for name in [&b"caf\xe9"[..], b"n\xfe\xff", b"ok", b"\xc3", b"a\xe2\x82b", "d\u{e9}j\u{e0}".as_bytes(), private] {
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

    #[test]
    fn the_last_component_is_a_name_in_its_parent() {
        let w = walk("/", "/a/abs/", true).unwrap();
        assert_eq!((w.parent.as_str(), w.name.as_slice(), w.kind), ("/a", &b"b"[..], Lookup::Dir));
        let w = walk("/a", "f", true).unwrap();
        assert_eq!((w.parent.as_str(), w.name.as_slice(), w.kind), ("/a", &b"f"[..], Lookup::File));
        let w = walk("/", "/a/b/..", true).unwrap();
        assert_eq!((w.guest.as_str(), w.parent.as_str(), w.name.as_slice()), ("/a", "/a", &b""[..]));
        let w = walk("/a", "../..", true).unwrap();
        assert_eq!((w.guest.as_str(), w.parent.as_str(), w.name.as_slice()), ("/", "", &b""[..]));
        assert_eq!(walk("/", "/a/abs/.", false).unwrap().guest, "/a/b", "a trailing . follows the link");
        assert_eq!(walk("/", "/a/f/.", true).err(), Some(Errno::ENOTDIR));
        assert_eq!(walk("/gone", "x", true).err(), Some(Errno::ENOENT), "a removed starting directory");
    }

    #[test]
    fn runs_of_directories_are_entered_at_once() {
        let mut m = fs();
        m.insert("/a/b/c", Lookup::Dir);
        m.insert("/a/b/c/d", Lookup::Dir);
        m.insert("/a/b/c/d/f", Lookup::File);
        m.insert("/a/b/c/up", Lookup::Symlink(b"../../b/c/d/f".to_vec()));
        let go = |p: &str, start: &str| {
            let mut tree = MapTree(m.clone(), true, 0, 0);
            let s = walk_dirs(&mut tree, start).map_err(|e| e.errno)?;
            let w = resolve(&mut tree, s, p.as_bytes(), true).map_err(|e| e.errno)?;
            let mut one = MapTree(m.clone(), false, 0, 0);
            let s = walk_dirs(&mut one, start).map_err(|e| e.errno)?;
            let w1 = resolve(&mut one, s, p.as_bytes(), true).map_err(|e| e.errno)?;
            assert_eq!((&w.guest, &w.parent, &w.name), (&w1.guest, &w1.parent, &w1.name), "{p}");
            Ok::<_, Errno>((w.guest, w.parent, tree.2))
        };
        assert_eq!(go("/a/b/c/d/f", "/").unwrap(), ("/a/b/c/d/f".into(), "/a/b/c/d".into(), 1));
        assert_eq!(go("/a//b/c/./d/f", "/").unwrap(), ("/a/b/c/d/f".into(), "/a/b/c/d".into(), 1));
        // `..` out of a run gives back the run's first names.
        assert_eq!(go("/a/b/c/d/../../f", "/").unwrap(), ("/a/b/f".into(), "/a/b".into(), 3));
        assert_eq!(go("/a/b/c/d/../../../../..", "/").unwrap().0, "/");
        // A symlink's target is batched too.
        assert_eq!(go("/a/b/c/up", "/").unwrap(), ("/a/b/c/d/f".into(), "/a/b/c/d".into(), 3));
        assert_eq!(go("d/f", "/a/b/c").unwrap(), ("/a/b/c/d/f".into(), "/a/b/c/d".into(), 1));
        assert_eq!(go("b/c/d/", "/a").unwrap().0, "/a/b/c/d");
        assert_eq!(go("/a/b/c/d/f/x", "/"), Err(Errno::ENOTDIR));
        assert_eq!(go("/a/b/nope/d/f", "/"), Err(Errno::ENOENT));
        // A refused run is not tried again at each of its names.
        m.insert("/a/b/c/dl", Lookup::Symlink(b"d".to_vec()));
        let mut tree = MapTree(m.clone(), true, 0, 0);
        let w = resolve(&mut tree, Vec::new(), b"/a/b/c/dl/f", true).map_err(|e| e.errno).unwrap();
        assert_eq!(w.guest, "/a/b/c/d/f");
        // a/b/c/dl is refused (dl is a symlink) and then walked name by
        // name, not tried again as b/c/dl and c/dl.
        assert_eq!((tree.3, tree.2), (1, 0));
    }

    #[test]
    fn last_components() {
        assert_eq!(last_component(b"a/b/."), b".");
        assert_eq!(last_component(b"a/..//"), b"..");
        assert_eq!(last_component(b"x"), b"x");
        assert!(has_trailing_slash(b"a/"));
        assert!(!has_trailing_slash(b"/"));
    }
}
