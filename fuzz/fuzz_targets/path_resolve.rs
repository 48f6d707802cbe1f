//! The guest path resolver (runtime/src/vfs/path.rs) over a generated tree
//! with directories, files and symlinks (absolute, relative, `..`-laden,
//! looping, dangling).
//!
//! Input: NUL-separated segments. The first is the path to resolve, the
//! second the starting directory, the rest define the tree: `d<path>` a
//! directory, `f<path>` a file, `l<path>\x01<target>` a symlink (parents
//! are created as directories). The byte after the segments' first one
//! picks follow_last.
//!
//! What must hold, besides never panicking:
//! - every lookup the walk makes names a child of the directory handle it
//!   passes (the handle and the name agree: what the runtime acts on is
//!   what the path says), and no handle is above the root;
//! - the result is an absolute normalized guest path, and its parent handle
//!   plus its last name spell exactly that path (an empty name: the handle
//!   is the directory the path names);
//! - ELOOP only after more than 40 symlinks were met.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mactux_runtime::vfs::path::{resolve, Lookup, Tree, MAX_SYMLINKS};
use std::collections::HashMap;

struct GenTree {
    nodes: HashMap<String, Lookup>,
    links_read: u32,
}

impl GenTree {
    fn add(&mut self, kind: u8, path: &[u8], target: &[u8]) {
        let comps: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b"." && *c != b"..").collect();
        let Some((last, parents)) = comps.split_last() else { return };
        let mut here = String::new();
        for p in parents {
            here.push('/');
            here.push_str(&String::from_utf8_lossy(p));
            self.nodes.entry(here.clone()).or_insert(Lookup::Dir);
        }
        here.push('/');
        here.push_str(&String::from_utf8_lossy(last));
        let node = match kind {
            b'd' => Lookup::Dir,
            b'l' => Lookup::Symlink(target.to_vec()),
            _ => Lookup::File,
        };
        self.nodes.insert(here, node);
    }

    /// The handle is the directory's own path ("" for the root).
    fn check_child(dir: &str, path: &str, name: &[u8]) {
        let expect = format!("{dir}/{}", mactux_runtime::vfs::path::from_bytes(name));
        assert_eq!(expect, path, "a lookup names something other than a child of its directory handle");
        assert!(!name.is_empty() && name != b"." && name != b"..", "a lookup of {name:?}");
    }

    fn get(&self, path: &str) -> Lookup {
        self.nodes.get(path).cloned().unwrap_or(Lookup::Missing)
    }
}

impl Tree for GenTree {
    type Dir = String;

    fn root(&mut self) -> mactux_runtime::error::Result<String> {
        Ok(String::new())
    }

    fn lookup(&mut self, dir: &String, path: &str, name: &[u8]) -> mactux_runtime::error::Result<Lookup> {
        Self::check_child(dir, path, name);
        let l = self.get(path);
        if matches!(l, Lookup::Symlink(_)) {
            self.links_read += 1;
        }
        Ok(l)
    }

    fn enter(&mut self, dir: &String, path: &str, name: &[u8]) -> mactux_runtime::error::Result<Result<String, Lookup>> {
        Self::check_child(dir, path, name);
        Ok(match self.get(path) {
            Lookup::Dir => Ok(path.to_string()),
            other => {
                if matches!(other, Lookup::Symlink(_)) {
                    self.links_read += 1;
                }
                Err(other)
            }
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let mut segs = data.split(|&b| b == 0);
    let Some(path) = segs.next() else { return };
    let start_raw = segs.next().unwrap_or(b"/");
    let follow = data.len() % 2 == 0;
    let mut tree = GenTree { nodes: HashMap::new(), links_read: 0 };
    for seg in segs.take(64) {
        let Some((&kind, rest)) = seg.split_first() else { continue };
        let (p, target) = match rest.iter().position(|&b| b == 1) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b"x"[..]),
        };
        tree.add(kind, p, target);
    }
    // The starting directory is a normalized absolute path, as the runtime keeps cwds.
    let mut comps = mactux_runtime::vfs::path::components(&mactux_runtime::vfs::path::from_bytes(start_raw));
    comps.retain(|c| c != b"." && c != b"..");
    let start = mactux_runtime::vfs::path::join(&comps);
    let start = match mactux_runtime::vfs::path::walk_dirs(&mut tree, &start) {
        Ok(s) => s,
        Err(_) => return,
    };
    match resolve(&mut tree, start, path, follow) {
        Ok(w) => {
            assert!(w.guest.starts_with('/'), "not absolute: {:?}", w.guest);
            let comps = mactux_runtime::vfs::path::components(&w.guest);
            assert!(
                comps.iter().all(|c| !c.is_empty() && c != b"." && c != b".."),
                "not normalized: {:?}",
                w.guest
            );
            assert_eq!(mactux_runtime::vfs::path::join(&comps), w.guest, "not normalized: {:?}", w.guest);
            if w.name.is_empty() {
                // The handle is the directory itself ("" is the root's handle).
                let own = if w.parent.is_empty() { "/" } else { w.parent.as_str() };
                assert_eq!(own, w.guest, "an empty last name: the handle is not the directory named");
            } else {
                GenTree::check_child(&w.parent, &w.guest, &w.name);
            }
        }
        Err(e) => {
            if e.errno == mactux_runtime::abi::Errno::ELOOP {
                assert!(tree.links_read > MAX_SYMLINKS, "ELOOP after {} links", tree.links_read);
            }
        }
    }
});
