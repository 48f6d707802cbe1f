//! Link flags for the `mactux` binary.
//!
//! On macOS, non-PIE Linux executables are linked to load at 0x400000, which
//! the default 4 GiB `__PAGEZERO` segment of a 64-bit Mach-O covers; shrinking
//! it to one page leaves the low 4 GiB free for guest images.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-link-arg-bins=-Wl,-pagezero_size,0x1000");
    }
}
