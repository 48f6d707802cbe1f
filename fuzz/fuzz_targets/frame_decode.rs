//! Any bytes fed to the frame reader and the decoders must give a value or an
//! error, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mactux_proto::frame::{decode, read_frame};
use mactux_proto::{Request, Response};

fuzz_target!(|data: &[u8]| {
    let _ = decode::<Request>(data);
    let _ = decode::<Response>(data);
    let _ = read_frame::<Request>(&mut &data[..]);
    if let Ok(req) = decode::<Request>(data) {
        // What decodes must encode again.
        let _ = mactux_proto::frame::encode(&req).expect("a decoded request re-encodes");
    }
});
