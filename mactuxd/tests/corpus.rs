//! Replays a corpus of malformed frames against a live daemon (served in this
//! process on a temporary state directory) and checks that it still answers.
//! A panic in the daemon would abort this test binary (panic = abort); a
//! stall would trip the read timeouts.

use mactux_proto::client::Client;
use mactux_proto::frame::encode;
use mactux_proto::{Request, Response, TaskInfo, MAX_FRAME, PROTOCOL_VERSION};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift64*), so failures replay exactly.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_le_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn hello() -> Vec<u8> {
    encode(&Request::Hello { version: PROTOCOL_VERSION }).unwrap()
}

/// Every kind of bad input the daemon must survive.
pub fn corpus() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for len in [1, 3, 4, 5, 16, 64, 1000] {
        out.push(rng.bytes(len));
    }
    // Truncated prefixes and truncated frames.
    let spawn = encode(&Request::Spawn { host_pid: 1, host_pgid: 1, host_sid: 1, info: TaskInfo { comm: "x".into(), ..TaskInfo::default() } }).unwrap();
    for cut in 1..spawn.len() {
        out.push(spawn[..cut].to_vec());
    }
    // Oversized lengths.
    for len in [MAX_FRAME as u32 + 1, u32::MAX, 0x8000_0000] {
        out.push(len.to_le_bytes().to_vec());
    }
    // Valid lengths, garbage bodies (and the empty body).
    out.push(frame(&[]));
    for len in [1, 2, 7, 32, 300] {
        out.push(frame(&rng.bytes(len)));
    }
    // An unknown enum tag, a huge inner Vec length, trailing bytes.
    out.push(frame(&[0xff, 0xff, 0xff, 0xff]));
    out.push(frame(&[6, 0, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    let mut trailing = encode(&Request::Status).unwrap()[4..].to_vec();
    trailing.push(0);
    out.push(frame(&trailing));
    // A fork's notice cut short.
    let forked = encode(&Request::Forked { pid: 5, host_pid: 77 }).unwrap();
    for cut in 1..forked.len() {
        out.push(forked[..cut].to_vec());
    }
    // A valid Hello, then each of the above.
    let n = out.len();
    for i in 0..n {
        let mut v = hello();
        v.extend_from_slice(&out[i]);
        out.push(v);
    }
    // Wrong first message, wrong version, Hello twice.
    out.push(encode(&Request::Status).unwrap());
    out.push(encode(&Request::Hello { version: PROTOCOL_VERSION + 1 }).unwrap());
    let mut twice = hello();
    twice.extend(hello());
    out.push(twice);
    // A fork's notice with hostile values, from a connection bound to no task.
    for (pid, host_pid) in [(0, 0), (-1, -1), (i32::MAX, i32::MIN), (1, 1), (2, i32::MAX)] {
        let mut v = hello();
        v.extend(encode(&Request::Forked { pid, host_pid }).unwrap());
        out.push(v);
    }
    out
}

/// Sends one corpus entry and reads until the daemon closes (or a short timeout).
pub fn replay(socket: &Path, bytes: &[u8]) {
    let Ok(mut s) = UnixStream::connect(socket) else { panic!("daemon stopped accepting") };
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
}

fn wait_for(socket: &Path) -> Client {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Client::connect(socket) {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("daemon did not come up: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[test]
fn malformed_frames_close_one_connection_only() {
    let dir = PathBuf::from(format!("{}/mactuxd-corpus-{}", std::env::temp_dir().display(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let socket = dir.join("mactuxd.sock");
    let opts = mactuxd::ServeOpts { state_dir: dir.clone(), socket: socket.clone(), use_activation: false, ready: None };
    let server = std::thread::spawn(move || mactuxd::serve(opts));
    let mut admin = wait_for(&socket);

    // A half-sent frame held open must not block anyone else.
    let mut stuck = UnixStream::connect(&socket).unwrap();
    stuck.write_all(&hello()).unwrap();
    stuck.write_all(&[100, 0, 0, 0, 1, 2]).unwrap();

    for entry in corpus() {
        replay(&socket, &entry);
    }
    // The daemon answers through a fresh connection and through the old one.
    assert!(matches!(admin.call(&Request::Status), Ok(Response::Status { tasks: 0, .. })));
    let mut fresh = wait_for(&socket);
    assert!(matches!(fresh.call(&Request::List), Ok(Response::Tasks(t)) if t.len() == 1));
    let log = std::fs::read_to_string(dir.join("mactuxd.log")).unwrap();
    assert!(log.contains("closing"), "malformed frames are logged:\n{log}");

    assert_eq!(admin.call(&Request::Shutdown).unwrap(), Response::Ok);
    drop(stuck);
    assert_eq!(server.join().unwrap(), Ok(()));
    assert!(!socket.exists(), "the socket is removed on shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_foreign_or_loose_state_dirs() {
    let base = std::env::temp_dir().join(format!("mactuxd-perms-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    use std::os::unix::fs::PermissionsExt;
    // Too open but ours: fixed.
    let loose = base.join("loose");
    std::fs::create_dir(&loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(&loose).unwrap().uid();
    mactuxd::prepare_state_dir(&loose, uid).unwrap();
    assert_eq!(std::fs::metadata(&loose).unwrap().mode() & 0o777, 0o700);
    // Someone else's: refused.
    assert!(mactuxd::prepare_state_dir(&loose, uid + 1).unwrap_err().contains("belongs to uid"));
    // A symlink: refused.
    let link = base.join("link");
    std::os::unix::fs::symlink(&loose, &link).unwrap();
    assert!(mactuxd::prepare_state_dir(&link, uid).is_err());
    // Missing: created 0700.
    let fresh = base.join("a/b");
    mactuxd::prepare_state_dir(&fresh, uid).unwrap();
    assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o777, 0o700);
    let _ = std::fs::remove_dir_all(&base);
}
