//! Opening an archive: the compression is told by its magic bytes, not by
//! the file's name, and every reader counts the compressed bytes it consumed
//! so the progress bar can show bytes read and an ETA against the file size.
//!
//! Only pure-Rust decompressors: `scripts/check-macos.sh` type-checks the
//! workspace for macOS on a Linux machine, where no C code can be built for
//! the Mac (flate2's miniz_oxide backend, lzma-rs, ruzstd).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

/// How a stream is compressed, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    /// RFC 1952 (gzip: 1f 8b), the xz file format (fd '7zXZ' 00), RFC 8878
    /// (zstd frame magic 0xFD2FB528, little-endian).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        }
    }
}

/// Counts the bytes read through it into a shared counter (the progress bar
/// reads it).
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened archive: the decompressed tar stream, and what it was.
pub struct Opened {
    pub reader: Box<dyn Read>,
    pub compression: Compression,
}

/// Opens `path` and wraps it in the decompressor its magic bytes ask for;
/// `consumed` counts the bytes read from the file.
pub fn open(path: &Path, consumed: Arc<AtomicU64>) -> io::Result<Opened> {
    let file = File::open(path)?;
    wrap(Counting { inner: file, count: consumed })
}

/// Wraps any stream (a layer blob inside an image) in its decompressor.
pub fn wrap<R: Read + Send + 'static>(raw: R) -> io::Result<Opened> {
    let mut buffered = BufReader::with_capacity(1 << 16, raw);
    let compression = Compression::sniff(buffered.fill_buf()?);
    let reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(buffered),
        // MultiGzDecoder: `pigz` and concatenated .gz files are several
        // members, which gunzip reads as one stream.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Xz => Box::new(XzReader::spawn(buffered)),
        Compression::Zstd => Box::new(ZstdReader { source: Some(buffered), frame: None }),
    };
    Ok(Opened { reader, compression })
}

/// lzma-rs decodes xz by pushing into a `Write`; the tar reader pulls. The
/// decoder runs on a thread of its own and hands its output over a bounded
/// channel, so memory stays at a few chunks whatever the archive's size.
struct XzReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

struct ChannelWriter {
    tx: mpsc::SyncSender<io::Result<Vec<u8>>>,
}

impl io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The reader went away (an error while extracting): stop decoding.
        self.tx.send(Ok(buf.to_vec())).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "extraction stopped"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl XzReader {
    fn spawn<R: BufRead + Send + 'static>(mut source: R) -> XzReader {
        const CHUNKS_IN_FLIGHT: usize = 8;
        let (tx, rx) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
        std::thread::spawn(move || {
            let mut w = io::BufWriter::with_capacity(1 << 16, ChannelWriter { tx: tx.clone() });
            let result = lzma_rs::xz_decompress(&mut source, &mut w)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("xz: {e}")))
                .and_then(|()| io::Write::flush(&mut w));
            drop(w);
            if let Err(e) = result {
                let _ = tx.send(Err(e));
            }
        });
        XzReader { rx, chunk: Vec::new(), at: 0, done: false }
    }
}

impl Read for XzReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(mpsc::RecvError) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

type ZstdFrame<R> = ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>;

/// ruzstd's StreamingDecoder reads one frame; `zstd` writes one per input
/// but `pzstd` and concatenated files hold several, which `unzstd` reads as
/// one stream: start a new frame while input remains.
struct ZstdReader<R: BufRead> {
    source: Option<R>,
    frame: Option<ZstdFrame<R>>,
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(frame) = self.frame.as_mut() {
                let n = frame.read(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                let source = self.frame.take().map(ZstdFrame::into_inner);
                self.source = source;
            }
            let Some(mut source) = self.source.take() else { return Ok(0) };
            if source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            let frame = ZstdFrame::new(source).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?;
            self.frame = Some(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_name_the_compression() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(Compression::sniff(b"\xfd7zXZ\0\0\x04"), Compression::Xz);
        assert_eq!(Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Compression::Zstd);
        assert_eq!(Compression::sniff(b"etc/\0\0\0"), Compression::None);
        assert_eq!(Compression::sniff(b""), Compression::None);
    }

    #[test]
    fn gzip_round_trip_and_truncation() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        enc.write_all(&data).unwrap();
        let gz = enc.finish().unwrap();
        let mut out = Vec::new();
        wrap(io::Cursor::new(gz.clone())).unwrap().reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        let cut = gz[..gz.len() / 2].to_vec();
        assert!(wrap(io::Cursor::new(cut)).unwrap().reader.read_to_end(&mut Vec::new()).is_err());
    }
}
