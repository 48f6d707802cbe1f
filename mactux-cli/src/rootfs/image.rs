//! Container images saved as tarballs: `docker save` (manifest.json naming
//! each layer's tar) and the OCI image layout (oci-layout, index.json,
//! blobs/ALG/HEX). The outer tarball is first extracted like any archive
//! into a scratch directory; if that turns out to be an image layout, its
//! layers are applied in order to the new root, whiteouts included.
//!
//! Everything read from the layout is read inside that scratch directory
//! with symlinks resolved in it (docker save links repeated layers to one
//! another): a layout cannot make the import read a host file.

use super::extract::resolve;
use serde_json::Value;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// What an extracted tarball turned out to be.
pub enum Layout {
    /// A root filesystem: the extracted tree is the root.
    Rootfs,
    /// An image: its layers' files inside the extracted tree, bottom first.
    Image { kind: &'static str, layers: Vec<PathBuf> },
}

/// OCI media types of an image index and a manifest (image-spec
/// media-types.md), with Docker's equivalents.
const INDEX_TYPES: &[&str] = &["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];

/// Tells a rootfs from an image layout by the files at its top.
pub fn detect(dir: &Path) -> Result<Layout, String> {
    let is_file = |n: &str| fs::symlink_metadata(dir.join(n)).map(|m| m.is_file()).unwrap_or(false);
    // A root filesystem has an etc/; an image layout never has.
    if fs::symlink_metadata(dir.join("etc")).is_ok() {
        return Ok(Layout::Rootfs);
    }
    if is_file("manifest.json") {
        let manifest = read_json(dir, "manifest.json")?;
        let images = manifest.as_array().ok_or("manifest.json is not a list of images")?;
        let first = images.first().ok_or("manifest.json lists no image")?;
        if images.len() > 1 {
            eprintln!("mactux: the archive holds {} images; importing the first", images.len());
        }
        let layers = first["Layers"].as_array().ok_or("manifest.json: the image has no \"Layers\" list")?;
        let layers = layers
            .iter()
            .map(|l| l.as_str().map(|s| file_in(dir, s)).unwrap_or_else(|| Err(String::from("manifest.json: a layer is not a path"))))
            .collect::<Result<_, _>>()?;
        return Ok(Layout::Image { kind: "docker save", layers });
    }
    if is_file("oci-layout") && is_file("index.json") {
        let index = read_json(dir, "index.json")?;
        let manifest = pick_manifest(dir, &index, 0)?;
        let layers = manifest["layers"].as_array().ok_or("the image manifest has no \"layers\" list")?;
        let layers = layers.iter().map(|l| blob(dir, &l["digest"])).collect::<Result<_, _>>()?;
        return Ok(Layout::Image { kind: "OCI image layout", layers });
    }
    Ok(Layout::Rootfs)
}

/// The manifest an index points at: the linux/amd64 one of a multi-platform
/// image, else the first.
fn pick_manifest(dir: &Path, index: &Value, depth: u32) -> Result<Value, String> {
    const MAX_NESTED_INDEXES: u32 = 4;
    let list = index["manifests"].as_array().ok_or("index.json has no \"manifests\" list")?;
    let fits = |m: &&Value| {
        let p = &m["platform"];
        p.is_null() || (p["os"] == "linux" && p["architecture"] == "amd64")
    };
    let chosen = list.iter().find(fits).ok_or("the image index has no manifest for linux/amd64")?;
    let doc = read_blob_json(dir, &chosen["digest"])?;
    let media = chosen["mediaType"].as_str().or_else(|| doc["mediaType"].as_str()).unwrap_or("");
    if INDEX_TYPES.contains(&media) || doc.get("manifests").is_some() {
        if depth >= MAX_NESTED_INDEXES {
            return Err(String::from("image indexes nested too deep"));
        }
        return pick_manifest(dir, &doc, depth + 1);
    }
    Ok(doc)
}

/// `blobs/ALG/HEX` for a digest `ALG:HEX`; both parts must be plain names.
fn blob(dir: &Path, digest: &Value) -> Result<PathBuf, String> {
    let d = digest.as_str().ok_or("a descriptor has no digest")?;
    let (alg, hex) = d.split_once(':').ok_or_else(|| format!("malformed digest '{d}'"))?;
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+._-".contains(&b)) && s != "." && s != "..";
    if !plain(alg) || !plain(hex) {
        return Err(format!("malformed digest '{d}'"));
    }
    file_in(dir, &format!("blobs/{alg}/{hex}"))
}

fn read_blob_json(dir: &Path, digest: &Value) -> Result<Value, String> {
    let path = blob(dir, digest)?;
    let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_json(dir: &Path, name: &str) -> Result<Value, String> {
    let path = file_in(dir, name)?;
    let bytes = fs::read(&path).map_err(|e| format!("{name}: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{name}: {e}"))
}

/// The host path of the regular file `rel` names inside `dir`, symlinks
/// resolved inside `dir` only.
fn file_in(dir: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut comps: Vec<OsString> = Vec::new();
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(format!("the image names '{rel}', outside its layout")),
            c => comps.push(c.into()),
        }
    }
    let mut hops = 0;
    loop {
        let (name, parent) = comps.split_last().ok_or_else(|| format!("the image names an empty path '{rel}'"))?;
        let host = resolve(dir, parent, false, false).map_err(|_| format!("the image names '{rel}', which is missing or points outside its layout"))?;
        let path = host.join(name);
        let m = fs::symlink_metadata(&path).map_err(|_| format!("the image names '{rel}', which the archive does not hold"))?;
        if m.is_file() {
            return Ok(path);
        }
        if !m.file_type().is_symlink() || hops > 40 {
            return Err(format!("the image names '{rel}', which is not a regular file"));
        }
        hops += 1;
        // Resolve the link's target relative to its directory, inside `dir`.
        let target = fs::read_link(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let here = host.strip_prefix(dir).map(Path::to_path_buf).unwrap_or_default();
        let joined = if target.is_absolute() { target.clone() } else { here.join(&target) };
        let mut next: Vec<OsString> = Vec::new();
        for c in joined.components() {
            match c {
                std::path::Component::Normal(n) => next.push(n.to_owned()),
                std::path::Component::ParentDir => {
                    if next.pop().is_none() {
                        return Err(format!("the image's '{rel}' links outside its layout"));
                    }
                }
                _ => {}
            }
        }
        comps = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_files_resolve_inside_the_layout_only() {
        let dir = std::env::temp_dir().join(format!("mactux-image-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("a")).unwrap();
        fs::create_dir_all(dir.join("b")).unwrap();
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(dir.join("a/layer.tar"), b"x").unwrap();
        // docker save links a repeated layer to the first copy.
        std::os::unix::fs::symlink("../a/layer.tar", dir.join("b/layer.tar")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc/passwd", dir.join("b/evil")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("b/abs")).unwrap();
        assert_eq!(file_in(&dir, "b/layer.tar").ok(), Some(dir.join("a/layer.tar")));
        assert!(file_in(&dir, "b/evil").is_err());
        assert!(file_in(&dir, "b/abs").is_err(), "an absolute target is read inside the layout, where it is missing");
        assert!(file_in(&dir, "../a/layer.tar").is_err());
        assert!(blob(&dir, &Value::from("sha256:../../x")).is_err());
        assert!(blob(&dir, &Value::from("sha256/x:y")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
