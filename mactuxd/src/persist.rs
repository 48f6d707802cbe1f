//! What survives a daemon restart, kept in the state directory: the lease of
//! the pid and pipe-inode allocators (`mactuxd.pids`) and the task table
//! (`mactuxd.tasks`).
//!
//! Tasks outlive the daemon (a `kill -9` of mactuxd, a crash, `mactux daemon
//! stop` while tasks run) and re-register under their old pids with the next
//! one, each when it next needs the daemon. Until then only the saved table
//! knows their pids. Two files, because they are written at different times
//! and each is useful without the other:
//!
//! - **The lease** is written *before* the allocator steps past its end: the
//!   daemon may hand out the next [`PID_LEASE`] pids (and [`INO_LEASE`] pipe
//!   inode numbers) without writing, and a new daemon starts after the end of
//!   the last lease. So every pid the old daemon handed out after its last
//!   table save lies in the old lease, behind the new daemon's allocator,
//!   and is reached again only after the 4194304 pids of a full wrap.
//! - **The table** is saved before the daemon answers a request that makes
//!   a task known or final, or that the task keeps a copy of (see
//!   `State::handle`), and a moment after other changes (lib.rs batches
//!   them). It keeps the pids, the tree, groups, sessions and zombie
//!   statuses of every task.
//!
//! The lease is written to a temporary file renamed over the old one, so a
//! daemon killed mid-write leaves the previous version. The table is saved
//! far more often (three times per fork), and on ext4 a rename over an
//! existing file flushes its data (`auto_da_alloc`): 1.6 ms per save on the
//! test machine. So the table alternates between two slots,
//! `mactuxd.tasks.0` and `.1`, each rewritten in place (about 70 µs): a
//! write torn by the daemon's death spoils only the slot being written,
//! and the load takes the valid slot of the highest generation. There is
//! no fsync: a killed process's writes are in the page cache, and a host
//! crash ends every task anyway.
//!
//! Each file carries a magic, a length, a checksum and the boot it was
//! written in. A lease that fails a check is logged and set aside as
//! `mactuxd.pids.bad`; a table slot that does is ignored (the other slot
//! is used; with neither, the daemon rebuilds the table from the tasks that
//! re-register). Files of an earlier boot are ignored: their host pids
//! name other processes now.

use mactux_proto::{TaskEntry, Vpid};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const LEASE_FILE: &str = "mactuxd.pids";
/// The table's two slots.
pub const TABLE_SLOTS: [&str; 2] = ["mactuxd.tasks.0", "mactuxd.tasks.1"];

/// How many pids the allocator steps through per lease. A write per this
/// many forks costs nothing measurable; the gap it leaves after a restart
/// is far below the pid space.
pub const PID_LEASE: u32 = 1024;
/// How many pipe inode numbers one lease covers.
pub const INO_LEASE: u64 = 1 << 16;

const LEASE_MAGIC: [u8; 8] = *b"MTXPIDS1";
// 2: a task entry lists its threads (protocol 8); a table of version 1 is
// not read (its tasks speak a protocol this daemon refuses anyway).
// 3: a task entry carries its credentials (protocol 10).
// 4: the host and domain names set in the namespace (protocol 12).
const TABLE_MAGIC: [u8; 8] = *b"MTXTASK4";
/// magic, body length (u32 LE), FNV-1a 64 of the body (u64 LE).
const HEADER: usize = 8 + 4 + 8;
/// The largest file accepted (and written): far above a table of every
/// possible task's summary, and a bound on what a damaged length can ask for.
const MAX_BODY: usize = 64 << 20;

/// Where the allocators continue after a restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub boot: String,
    /// The first pid the next daemon may hand out.
    pub next_pid: Vpid,
    /// The first pipe inode number the next daemon may hand out.
    pub next_pipe_ino: u64,
}

/// One task as saved (its entry without fds, map and environment).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedTask {
    pub entry: TaskEntry,
    pub is_reserved: bool,
    /// The token of the ReserveChild that made a reservation.
    pub token: u64,
    pub did_exec: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub boot: String,
    /// Counts saves: of two valid slots, the higher one is newer.
    pub generation: u64,
    /// Every task but pid 1.
    pub tasks: Vec<SavedTask>,
    /// The ids standing for host sessions and groups (see `State::outer_id`).
    pub outer_ids: Vec<((i32, Vpid), Vpid)>,
    /// The names sethostname(2) and setdomainname(2) set (None: never).
    pub nodename: Option<Vec<u8>>,
    pub domainname: Option<Vec<u8>>,
}

/// What a load found.
#[derive(Debug, PartialEq)]
pub enum Loaded<T> {
    Missing,
    Found(T),
    /// Written before the host last booted.
    OtherBoot,
    /// Damaged: why (the file has been set aside).
    Bad(String),
}

/// The state directory's saved state, for the current boot.
pub struct Store {
    dir: PathBuf,
    boot: String,
    /// The table's slots, opened at the first save, with each one's length
    /// as this daemon last left it (None: not known yet).
    slots: [Option<(File, Option<u64>)>; 2],
    /// The generation of the newest table saved or loaded.
    generation: u64,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_BODY>()
}

impl Store {
    pub fn new(dir: &Path, boot: String) -> Store {
        Store { dir: dir.to_path_buf(), boot, slots: [None, None], generation: 0 }
    }

    pub fn boot(&self) -> &str {
        &self.boot
    }

    /// Publishes the host and domain names in the state directory's
    /// [`mactux_proto::UTS_FILE`] for tasks to read: the sequence word goes
    /// odd, the names are written, the word goes even again. The file is
    /// made once and never truncated (tasks keep it mapped).
    pub fn publish_uts(&self, nodename: Option<&[u8]>, domainname: Option<&[u8]>) -> Result<(), String> {
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let path = self.dir.join(mactux_proto::UTS_FILE);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let size = mactux_proto::UTS_FILE_SIZE as u64;
        if f.metadata().map(|m| m.len()).unwrap_or(0) < size {
            f.set_len(size).map_err(|e| format!("cannot size {}: {e}", path.display()))?;
        }
        let mut seq = [0u8; 8];
        f.read_exact_at(&mut seq, 0).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        // Even while stable; a writer that died mid-way left it odd.
        let stable = u64::from_le_bytes(seq) & !1;
        let write = |off: u64, bytes: &[u8]| f.write_all_at(bytes, off).map_err(|e| format!("cannot write {}: {e}", path.display()));
        write(0, &(stable + 1).to_le_bytes())?;
        let words = mactux_proto::uts_words(nodename, domainname);
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        write(8, &bytes)?;
        write(0, &(stable + 2).to_le_bytes())
    }

    pub fn save_lease(&self, lease: &Lease) -> Result<(), String> {
        self.save(LEASE_FILE, LEASE_MAGIC, lease)
    }

    /// Saves `table` as the next generation, into the slot that does not
    /// hold the newest one (`table.generation` is set here).
    pub fn save_table(&mut self, table: &mut Table) -> Result<(), String> {
        table.generation = self.generation + 1;
        let bytes = framed(TABLE_MAGIC, table).map_err(|e| format!("cannot encode the task table: {e}"))?;
        let slot = (table.generation % 2) as usize;
        let path = self.dir.join(TABLE_SLOTS[slot]);
        if self.slots[slot].is_none() {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            self.slots[slot] = Some((f, None));
        }
        let Some((f, len)) = &mut self.slots[slot] else { return Err(format!("{} is not open", path.display())) };
        // In place, then cut to length: no rename (see the module doc). A
        // table as long as the slot's or longer needs no cut; each fork
        // saves the table (its ReserveChild), and the cut, a metadata
        // change journalled on ext4, cost more than the write.
        let new_len = bytes.len() as u64;
        let needs_cut = len.is_none_or(|old| new_len < old);
        f.write_all_at(&bytes, 0)
            .and_then(|()| if needs_cut { f.set_len(new_len) } else { Ok(()) })
            .map_err(|e| {
                *len = None;
                format!("cannot write {}: {e}", path.display())
            })?;
        *len = Some(new_len);
        self.generation = table.generation;
        Ok(())
    }

    pub fn load_lease(&self) -> Loaded<Lease> {
        match self.load::<Lease>(LEASE_FILE, LEASE_MAGIC) {
            Loaded::Found(l) if l.boot != self.boot => Loaded::OtherBoot,
            other => other,
        }
    }

    /// The newest valid table of the two slots.
    pub fn load_table(&mut self) -> Loaded<Table> {
        let mut best: Option<Table> = None;
        let mut bad = Vec::new();
        let mut found_any = false;
        for name in TABLE_SLOTS {
            let path = self.dir.join(name);
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    bad.push(format!("cannot read {}: {e}", path.display()));
                    continue;
                }
            };
            found_any = true;
            match parse::<Table>(&bytes, TABLE_MAGIC) {
                Ok(t) if best.as_ref().is_none_or(|b| t.generation > b.generation) => best = Some(t),
                Ok(_) => {}
                // A write torn by the daemon's death, or damage.
                Err(why) => bad.push(format!("{} {why}", path.display())),
            }
        }
        match best {
            Some(t) => {
                // The next save goes to the other slot.
                self.generation = t.generation;
                if t.boot != self.boot {
                    Loaded::OtherBoot
                } else {
                    Loaded::Found(t)
                }
            }
            None if found_any => Loaded::Bad(bad.join("; ")),
            None => Loaded::Missing,
        }
    }

    fn save<T: Serialize>(&self, name: &str, magic: [u8; 8], value: &T) -> Result<(), String> {
        let bytes = framed(magic, value).map_err(|e| format!("cannot encode {name}: {e}"))?;
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&bytes));
        written.map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("cannot rename {} to {}: {e}", tmp.display(), path.display()))
    }

    fn load<T: serde::de::DeserializeOwned>(&self, name: &str, magic: [u8; 8]) -> Loaded<T> {
        let path = self.dir.join(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::Missing,
            Err(e) => return Loaded::Bad(format!("cannot read {}: {e}", path.display())),
        };
        match parse(&bytes, magic) {
            Ok(v) => Loaded::Found(v),
            Err(why) => {
                // Kept for a post-mortem, and out of the next daemon's way.
                let bad = self.dir.join(format!("{name}.bad"));
                let _ = std::fs::rename(&path, &bad);
                Loaded::Bad(format!("{} {why} (set aside as {})", path.display(), bad.display()))
            }
        }
    }
}

/// A value as a file: header, then its encoding.
fn framed<T: Serialize>(magic: [u8; 8], value: &T) -> Result<Vec<u8>, String> {
    let body = bincode::serde::encode_to_vec(value, config()).map_err(|e| e.to_string())?;
    if body.len() > MAX_BODY {
        return Err(format!("{} bytes, more than the {MAX_BODY} allowed", body.len()));
    }
    let mut bytes = Vec::with_capacity(HEADER + body.len());
    bytes.extend_from_slice(&magic);
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&fnv1a(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Checks a file's header and decodes its body.
fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8], magic: [u8; 8]) -> Result<T, String> {
    if bytes.len() < HEADER {
        return Err(format!("is truncated ({} bytes, the header alone takes {HEADER})", bytes.len()));
    }
    if bytes[..8] != magic {
        return Err("is not a mactuxd state file of this version".into());
    }
    let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let sum = u64::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15], bytes[16], bytes[17], bytes[18], bytes[19]]);
    let body = &bytes[HEADER..];
    if len > MAX_BODY || body.len() != len {
        return Err(format!("is truncated or padded (the header says {len} bytes of body, the file has {})", body.len()));
    }
    if fnv1a(body) != sum {
        return Err("fails its checksum".into());
    }
    let (value, used) = bincode::serde::decode_from_slice(body, config()).map_err(|e| format!("does not decode: {e}"))?;
    if used != len {
        return Err("has trailing bytes".into());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mactux_proto::{TaskInfo, TaskState};

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mactuxd-persist-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn table(boot: &str) -> Table {
        let entry = TaskEntry {
            pid: 7,
            ppid: 1,
            pgid: 7,
            sid: 7,
            host_pid: 4242,
            state: TaskState::Zombie(3 << 8),
            start_time: 1.5,
            info: TaskInfo { comm: "sh".into(), ..TaskInfo::default() },
        };
        Table {
            boot: boot.into(),
            generation: 0,
            tasks: vec![SavedTask { entry, is_reserved: false, token: 0, did_exec: true }],
            outer_ids: vec![((100, 0), 9)],
            nodename: Some(b"box".to_vec()),
            domainname: None,
        }
    }

    fn loaded_pid(s: &mut Store) -> Option<i32> {
        match s.load_table() {
            Loaded::Found(t) => Some(t.tasks[0].entry.pid),
            _ => None,
        }
    }

    #[test]
    fn round_trip_and_other_boot() {
        let d = scratch("round");
        let mut s = Store::new(&d, "boot-a".into());
        assert_eq!(s.load_table(), Loaded::Missing);
        s.save_table(&mut table("boot-a")).unwrap();
        s.save_lease(&Lease { boot: "boot-a".into(), next_pid: 1030, next_pipe_ino: 170_000 }).unwrap();
        assert_eq!(s.load_table(), Loaded::Found(Table { generation: 1, ..table("boot-a") }));
        assert!(matches!(s.load_lease(), Loaded::Found(Lease { next_pid: 1030, .. })));
        let mut after_reboot = Store::new(&d, "boot-b".into());
        assert_eq!(after_reboot.load_table(), Loaded::OtherBoot);
        assert_eq!(after_reboot.load_lease(), Loaded::OtherBoot);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_newest_valid_slot_wins() {
        let d = scratch("slots");
        let mut s = Store::new(&d, "b".into());
        for pid in [10, 11, 12] {
            let mut t = table("b");
            t.tasks[0].entry.pid = pid;
            s.save_table(&mut t).unwrap();
        }
        // Generations 3 (slot 1) and 2 (slot 0): the newer one.
        assert_eq!(loaded_pid(&mut Store::new(&d, "b".into())), Some(12));
        // The newest write torn: the one before it.
        let newest = d.join(TABLE_SLOTS[1]);
        let bytes = std::fs::read(&newest).unwrap();
        std::fs::write(&newest, &bytes[..bytes.len() - 3]).unwrap();
        let mut s = Store::new(&d, "b".into());
        assert_eq!(loaded_pid(&mut s), Some(11));
        // Saving goes on from there, into the torn slot.
        let mut t = table("b");
        t.tasks[0].entry.pid = 13;
        s.save_table(&mut t).unwrap();
        assert_eq!(t.generation, 3);
        assert_eq!(loaded_pid(&mut Store::new(&d, "b".into())), Some(13));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn damaged_files_are_refused() {
        let d = scratch("damaged");
        let mut s = Store::new(&d, "b".into());
        s.save_table(&mut table("b")).unwrap();
        let good = std::fs::read(d.join(TABLE_SLOTS[1])).unwrap();
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        let mut huge_len = good.clone();
        huge_len[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        // A body that passes the checksum but is not a table.
        let body = [0xffu8; 12];
        let mut not_a_table = TABLE_MAGIC.to_vec();
        not_a_table.extend_from_slice(&(body.len() as u32).to_le_bytes());
        not_a_table.extend_from_slice(&fnv1a(&body).to_le_bytes());
        not_a_table.extend_from_slice(&body);
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            good[..5].to_vec(),
            good[..HEADER].to_vec(),
            good[..good.len() - 1].to_vec(),
            [&good[..], &[0]].concat(),
            flipped,
            huge_len,
            [&b"MTXPIDS1"[..], &good[8..]].concat(),
            not_a_table,
        ];
        for (i, bytes) in cases.into_iter().enumerate() {
            std::fs::write(d.join(TABLE_SLOTS[1]), &bytes).unwrap();
            assert!(matches!(Store::new(&d, "b".into()).load_table(), Loaded::Bad(_)), "case {i} was accepted");
            // The lease file is set aside when damaged.
            std::fs::write(d.join(LEASE_FILE), &bytes).unwrap();
            assert!(matches!(s.load_lease(), Loaded::Bad(_)), "lease case {i} was accepted");
            assert!(!d.join(LEASE_FILE).exists() && d.join(format!("{LEASE_FILE}.bad")).exists());
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}
