//! Link flags for the `mactux` binary.
//!
//! On macOS, non-PIE Linux executables are linked to load at 0x400000, which
//! the default 4 GiB `__PAGEZERO` segment of a 64-bit Mach-O covers; shrinking
//! it to one page leaves the low 4 GiB free for guest images.
//!
//! On Linux, text-order.ld (made by scripts/text-order.sh) places the runtime
//! code a task's start-up and common calls run together at the start of the
//! text: a `mactux run` then faults in a few 64 KiB windows of it instead of
//! most of the binary's 4 MiB (docs/architecture.md, "Code layout").

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=text-order.ld");
    match std::env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("macos") => println!("cargo:rustc-link-arg-bins=-Wl,-pagezero_size,0x1000"),
        Ok("linux") => {
            let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
            // gcc's own -T, so that no comma in the path can split it.
            println!("cargo:rustc-link-arg-bin=mactux=-T");
            println!("cargo:rustc-link-arg-bin=mactux={dir}/text-order.ld");
        }
        _ => {}
    }
}
