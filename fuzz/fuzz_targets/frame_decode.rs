//! Any bytes a peer may send over a daemon connection must give a value or
//! an error, never a panic, a hang or an unbounded allocation:
//! - the daemon's side: frame bodies and a stream of request frames (the
//!   first one being the handshake's Hello);
//! - every current request and response type (see `sample_requests` and
//!   `sample_responses`, which fail to compile when a variant is added
//!   without a sample), with the input written over its encoding;
//! - the client's side, over a real socket pair: the version handshake
//!   (`Client::handshake`) and the response reader, fed the input as the
//!   daemon's answer.
//!
//! What decodes must encode again, to bytes that decode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mactux_proto::client::Client;
use mactux_proto::frame::{decode, encode, read_frame};
use mactux_proto::{
    FutexKey, IpcCred, IpcOp, IpcPerm, IpcReply, IpcSet, IpcStat, KillTarget, Request, Response, SemBuf, TaskEntry, TaskInfo, TaskState,
    ThreadInfo, WaitTarget, MAX_FRAME, PROTOCOL_VERSION,
};
use std::io::Write;
use std::os::unix::net::UnixStream;

fn info() -> TaskInfo {
    TaskInfo {
        comm: "sh".into(),
        argv: vec![b"sh".to_vec(), b"-c".to_vec()],
        exe: "/bin/sh".into(),
        cwd: "/".into(),
        uid: 1000,
        gid: 1000,
        tty: 0x8801,
        environ: vec![b"PATH=/bin".to_vec()],
        fds: vec![(0, b"/dev/pts/1".to_vec())],
        maps: b"00400000-00401000 r-xp 00000000 00:00 0 /bin/sh\n".to_vec(),
        reaps_children: false,
        threads: vec![ThreadInfo { tid: 3, comm: "sh".into(), state: b'S' }, ThreadInfo { tid: 5, comm: "worker".into(), state: b'R' }],
    }
}

/// One of each request; the match makes a new variant a compile error here.
fn sample_requests() -> Vec<Request> {
    let key = FutexKey::File { dev: 1, ino: 2, offset: 8 };
    let all = vec![
        Request::Hello { version: PROTOCOL_VERSION },
        Request::Spawn { host_pid: 10, host_pgid: 10, host_sid: 9, info: info() },
        Request::ReserveChild { token: 0x5eed },
        Request::AttachChild { pid: 3, host_pid: 11 },
        Request::Reattach { pid: 3, host_pid: 12, ppid: 2, pgid: 3, sid: 2, info: info() },
        Request::Update { info: info() },
        Request::Exit { status: 0x100 },
        Request::Reaped { pid: 4 },
        Request::GetPpid,
        Request::GetPgid { pid: 0 },
        Request::SetPgid { pid: 0, pgid: 5 },
        Request::GetSid { pid: -1 },
        Request::SetSid,
        Request::HostPid { pid: 6 },
        Request::PidOfHost { host_pid: 13 },
        Request::Children { target: WaitTarget::Pgid(5) },
        Request::Resolve { target: KillTarget::All },
        Request::List,
        Request::Get { pid: 7 },
        Request::NewPipeIno,
        Request::FutexQueue { key: FutexKey::Anon { region: 1, offset: 4 }, bitset: u32::MAX },
        Request::FutexSleep { token: 9, timeout_ns: 50_000_000 },
        Request::FutexCancel { token: 9 },
        Request::FutexWake { key, count: 1, bitset: 1 },
        Request::Status,
        Request::Shutdown,
        Request::Join { pid: 3, host_pid: 12 },
        Request::NewTid,
        Request::ReleaseTid { tid: 5 },
        Request::OwnerOf { tid: 5 },
        Request::Ipc { cred: IpcCred { uid: 1000, gid: 1000, groups: vec![4, 24] }, op: IpcOp::ShmGet { key: 0x1234, size: 4096, flags: 0o1600 } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::ShmAttach { shmid: 32768, flags: 0o10000 } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::ShmDetach { shmid: 1 } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::ShmInherit { pid: 4, shmids: vec![1, 1, 2] } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::ShmCtl { shmid: 1, cmd: 1, set: Some(IpcSet { uid: 1, gid: 2, mode: 0o640, qbytes: 0 }) } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::SemGet { key: 0, nsems: 3, flags: 0o600 } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::SemOp { semid: 2, sops: vec![SemBuf { num: 0, op: -1, flags: 0x1000 }] } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::SemCtl { semid: 2, semnum: 0, cmd: 17, val: 0, vals: vec![1, 2, 3], set: None } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::MsgGet { key: 7, flags: 0o1600 } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::MsgSnd { msqid: 3, mtype: 2, text: b"hello".to_vec(), flags: 0 } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::MsgRcv { msqid: 3, size: 64, msgtyp: -5, flags: 0o20000 } },
        Request::Ipc { cred: IpcCred::default(), op: IpcOp::MsgCtl { msqid: 3, cmd: 2, set: None } },
        Request::IpcSleep { token: 3, timeout_ns: 50_000_000 },
        Request::IpcCancel { token: 3 },
        Request::Forked { pid: 4, host_pid: 12 },
    ];
    for r in &all {
        match r {
            Request::Hello { .. }
            | Request::Spawn { .. }
            | Request::ReserveChild { .. }
            | Request::AttachChild { .. }
            | Request::Reattach { .. }
            | Request::Update { .. }
            | Request::Exit { .. }
            | Request::Reaped { .. }
            | Request::GetPpid
            | Request::GetPgid { .. }
            | Request::SetPgid { .. }
            | Request::GetSid { .. }
            | Request::SetSid
            | Request::HostPid { .. }
            | Request::PidOfHost { .. }
            | Request::Children { .. }
            | Request::Resolve { .. }
            | Request::List
            | Request::Get { .. }
            | Request::NewPipeIno
            | Request::FutexQueue { .. }
            | Request::FutexSleep { .. }
            | Request::FutexCancel { .. }
            | Request::FutexWake { .. }
            | Request::Status
            | Request::Shutdown
            | Request::Join { .. }
            | Request::NewTid
            | Request::ReleaseTid { .. }
            | Request::OwnerOf { .. }
            | Request::Ipc { .. }
            | Request::IpcSleep { .. }
            | Request::IpcCancel { .. }
            | Request::Forked { .. } => {}
        }
    }
    all
}

/// One of each response; the match makes a new variant a compile error here.
fn sample_responses() -> Vec<Response> {
    let entry = TaskEntry { pid: 3, ppid: 1, pgid: 3, sid: 3, host_pid: 10, state: TaskState::Zombie(9), start_time: 1.5, info: info() };
    let all = vec![
        Response::Welcome { version: PROTOCOL_VERSION, daemon_pid: 100 },
        Response::VersionMismatch { daemon_version: PROTOCOL_VERSION + 1 },
        Response::Ok,
        Response::Pid(3),
        Response::Spawned { pid: 3, pgid: 3, sid: 2 },
        Response::HostPid(10),
        Response::Task(Some(entry.clone())),
        Response::Tasks(vec![entry.clone(), TaskEntry { state: TaskState::Running, ..entry }]),
        Response::Children(vec![(3, 10), (4, 11)]),
        Response::Ino(77),
        Response::Token(9),
        Response::Woken(2),
        Response::Status { daemon_pid: 100, uptime_secs: 2.5, socket: "/run/user/1000/mactux.sock".into(), tasks: 2, version: PROTOCOL_VERSION },
        Response::Error { errno: 3, msg: "no such process".into() },
        Response::Owner { pid: 3, host_pid: 10 },
        Response::Ipc(IpcReply::Value(32769)),
        Response::Ipc(IpcReply::Attached { path: "/run/user/1000/mactux/sysv-shm/shm-1".into(), size: 4096, key: 0x1234 }),
        Response::Ipc(IpcReply::Stat {
            ret: 0,
            stat: IpcStat::Shm { perm: IpcPerm { key: 1, uid: 2, gid: 3, cuid: 4, cgid: 5, mode: 0o1600, seq: 1 }, segsz: 4096, atime: 1, dtime: 2, ctime: 3, cpid: 4, lpid: 5, nattch: 2 },
        }),
        Response::Ipc(IpcReply::Stat { ret: 32768, stat: IpcStat::Sem { perm: IpcPerm::default(), otime: 1, ctime: 2, nsems: 3 } }),
        Response::Ipc(IpcReply::Stat {
            ret: 0,
            stat: IpcStat::Msg { perm: IpcPerm::default(), stime: 1, rtime: 2, ctime: 3, cbytes: 4, qnum: 5, qbytes: 16384, lspid: 6, lrpid: 7 },
        }),
        Response::Ipc(IpcReply::Info { ret: 2, fields: vec![1, 2, 3] }),
        Response::Ipc(IpcReply::Values(vec![0, 1, 32767])),
        Response::Ipc(IpcReply::Message { mtype: 5, text: b"x".to_vec() }),
        Response::Ipc(IpcReply::Pending(9)),
    ];
    for r in &all {
        match r {
            Response::Welcome { .. }
            | Response::VersionMismatch { .. }
            | Response::Ok
            | Response::Pid(_)
            | Response::Spawned { .. }
            | Response::HostPid(_)
            | Response::Task(_)
            | Response::Tasks(_)
            | Response::Children(_)
            | Response::Ino(_)
            | Response::Token(_)
            | Response::Woken(_)
            | Response::Status { .. }
            | Response::Error { .. }
            | Response::Owner { .. }
            | Response::Ipc(_) => {}
        }
    }
    all
}

/// A decoded message encodes again, and that encoding is a fixed point
/// (compared as bytes: a float may be NaN).
fn re_encodes<T: serde::Serialize + serde::de::DeserializeOwned>(msg: &T) {
    let bytes = encode(msg).expect("a decoded message re-encodes");
    let again: T = decode(&bytes[4..]).expect("a re-encoded message decodes");
    assert_eq!(encode(&again).expect("and encodes"), bytes);
}

/// Writes `patch` over `bytes` at the offset its first byte names (after
/// the length prefix, which is kept so the frame is read as one).
fn overlay(bytes: &mut Vec<u8>, patch: &[u8]) {
    let Some((&at, patch)) = patch.split_first() else { return };
    let start = 4 + usize::from(at) % (bytes.len() - 3);
    let end = (start + patch.len()).min(bytes.len());
    bytes[start..end].copy_from_slice(&patch[..end - start]);
}

/// The client reads `answer` from a socket pair as the daemon's reply: the
/// handshake when `handshake`, else one call (part of the answer arriving
/// through the early-receive hook).
fn client_reads(answer: &[u8], handshake: bool, early: usize) {
    let Ok((ours, daemon)) = UnixStream::pair() else { return };
    let mut daemon = daemon;
    // Small enough for the socket buffer: the write never waits.
    if answer.len() > 64 * 1024 || daemon.write_all(answer).is_err() {
        return;
    }
    let _ = daemon.shutdown(std::net::Shutdown::Write);
    if handshake {
        let _ = Client::handshake(ours);
        return;
    }
    let mut client = Client::from_stream(ours, 1);
    let _ = client.call_with(&Request::GetPpid, |s, buf| {
        use std::io::Read;
        let n = early.min(buf.len());
        let mut s = s;
        s.read(&mut buf[..n])
    });
}

/// Every sample, encoded as a frame (built once).
static SAMPLES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // The daemon's side: one body, and a stream of frames.
    if let Ok(req) = decode::<Request>(data) {
        re_encodes(&req);
    }
    if let Ok(resp) = decode::<Response>(data) {
        re_encodes(&resp);
    }
    // A declared length beyond the input costs a buffer of up to 1 MiB
    // (two system calls) before the read fails: one input in 64 takes it.
    let fits = data.len() >= 4
        && mactux_proto::frame::body_len([data[0], data[1], data[2], data[3]]).is_ok_and(|n| n <= data.len() - 4);
    if fits || data.last().is_some_and(|b| b % 64 == 0) {
        let _ = read_frame::<Request>(&mut &data[..]);
    }
    // Then frame after frame, while each one's length fits what is left.
    let mut stream = data;
    let mut first = true;
    while stream.len() >= 4
        && mactux_proto::frame::body_len([stream[0], stream[1], stream[2], stream[3]]).is_ok_and(|n| n <= stream.len() - 4)
    {
        let Ok(req) = read_frame::<Request>(&mut stream) else { break };
        if first {
            // The daemon's handshake: Hello of its version, or it closes.
            if !matches!(req, Request::Hello { version } if version == PROTOCOL_VERSION) {
                break;
            }
            first = false;
        }
        re_encodes(&req);
    }

    // Every message type, its encoding overwritten by the input.
    if let Some((&pick, patch)) = data.split_first() {
        let samples = SAMPLES.get_or_init(|| {
            let reqs = sample_requests().iter().map(encode).collect::<Vec<_>>();
            let resps = sample_responses().iter().map(encode).collect::<Vec<_>>();
            reqs.into_iter().chain(resps).map(|b| b.expect("samples encode")).collect()
        });
        let mut bytes = samples[usize::from(pick) % samples.len()].clone();
        assert!(bytes.len() - 4 <= MAX_FRAME);
        overlay(&mut bytes, patch);
        if let Ok(r) = decode::<Request>(&bytes[4..]) {
            re_encodes(&r);
        }
        if let Ok(r) = decode::<Response>(&bytes[4..]) {
            re_encodes(&r);
        }
        // The client, answered with that frame (a Welcome, a mismatch, or
        // anything else) and then with the raw input. A socket pair costs
        // more than all the rest together: one input in 64 takes it.
        if patch.first().is_some_and(|b| b % 64 == 0) {
            client_reads(&bytes, pick & 1 == 0, usize::from(pick));
            client_reads(data, pick & 2 == 0, usize::from(pick) * 3);
        }
    }
});
