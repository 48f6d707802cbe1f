//! Length-prefixed bincode frames.

use crate::MAX_FRAME;
use std::io::{self, Read, Write};

/// bincode's standard configuration with a size limit, so a hostile length
/// inside a message cannot make the decoder allocate without bound.
fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME>()
}

/// Encodes one message as a frame (length prefix included).
pub fn encode<T: serde::Serialize>(msg: &T) -> io::Result<Vec<u8>> {
    // The body is encoded after room for the prefix, which is filled in last.
    let mut out = vec![0u8; 4];
    bincode::serde::encode_into_std_write(msg, &mut out, config()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "message larger than the frame limit"));
    }
    out[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(out)
}

/// Decodes a frame body. Trailing bytes are an error: a frame holds exactly one message.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> io::Result<T> {
    let (msg, used) =
        bincode::serde::decode_from_slice(body, config()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if used != body.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "trailing bytes after the message"));
    }
    Ok(msg)
}

/// Checks a frame's length prefix.
pub fn body_len(prefix: [u8; 4]) -> io::Result<usize> {
    let len = u32::from_le_bytes(prefix) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes exceeds the limit")));
    }
    Ok(len)
}

pub fn write_frame<T: serde::Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    w.write_all(&encode(msg)?)
}

pub fn read_frame<T: serde::de::DeserializeOwned>(r: &mut impl Read) -> io::Result<T> {
    let mut prefix = [0u8; 4];
    r.read_exact(&mut prefix)?;
    let mut body = vec![0u8; body_len(prefix)?];
    r.read_exact(&mut body)?;
    decode(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, Response, TaskInfo};

    #[test]
    fn round_trip() {
        let req = Request::Spawn { host_pid: 7, host_pgid: 7, host_sid: 7, info: TaskInfo { comm: "sh".into(), ..TaskInfo::default() } };
        let bytes = encode(&req).unwrap();
        let back: Request = read_frame(&mut &bytes[..]).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn thread_requests_round_trip() {
        let info = TaskInfo {
            comm: "srv".into(),
            threads: vec![
                crate::ThreadInfo { tid: 7, comm: "srv".into(), state: b'S' },
                crate::ThreadInfo { tid: 9, comm: "worker-1".into(), state: b'R' },
            ],
            ..TaskInfo::default()
        };
        for req in [
            Request::Join { pid: 7, host_pid: 1234 },
            Request::NewTid,
            Request::ReleaseTid { tid: 9 },
            Request::OwnerOf { tid: 9 },
            Request::Update { info },
        ] {
            let bytes = encode(&req).unwrap();
            assert_eq!(read_frame::<Request>(&mut &bytes[..]).unwrap(), req);
        }
        let owner = Response::Owner { pid: 7, host_pid: 1234 };
        let bytes = encode(&owner).unwrap();
        assert_eq!(read_frame::<Response>(&mut &bytes[..]).unwrap(), owner);
    }

    #[test]
    fn rejects_oversized_truncated_and_garbage() {
        assert!(body_len(((MAX_FRAME + 1) as u32).to_le_bytes()).is_err());
        let bytes = encode(&Response::Pid(3)).unwrap();
        assert!(read_frame::<Response>(&mut &bytes[..bytes.len() - 1]).is_err());
        assert!(decode::<Request>(&[0xff; 16]).is_err());
        let mut long = bytes[4..].to_vec();
        long.push(0);
        assert!(decode::<Response>(&long).is_err());
    }
}
