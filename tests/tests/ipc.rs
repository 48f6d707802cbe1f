//! System V IPC across separate `mactux run` processes: objects live in the
//! daemon, so one run creates what the next one finds by id and by key.
//! util-linux's ipcmk, ipcs and ipcrm are the real programs (ipcs reads
//! /proc/sysvipc, which lists the daemon's objects). The guest programs of
//! tests/guest/ipc cover each call.
//!
//! The native half creates real host objects; each is removed before the
//! test ends (also when it fails).

use mactux_tests::*;

/// Removes a native object when dropped: `ipcrm -m|-s|-q id`.
struct NativeObject(&'static str, String);

impl Drop for NativeObject {
    fn drop(&mut self) {
        let _ = run_native(&Run::cmd(&["ipcrm", self.0, &self.1]));
    }
}

/// The id in ipcmk's "Shared memory id: 7".
fn made_id(o: &Outcome) -> String {
    assert!(o.is_success(), "ipcmk failed: {}", o.stderr_str());
    o.stdout_str().rsplit(':').next().unwrap_or("").trim().to_string()
}

/// ipcs's table for one kind: its header lines and the row of `id`, with
/// the key and id replaced (they differ between hosts and namespaces), and
/// the row's key.
fn table_row(o: &Outcome, id: &str) -> (Vec<String>, Option<(String, String)>) {
    assert!(o.is_success(), "ipcs failed: {}", o.stderr_str());
    let text = o.stdout_str();
    let header = text.lines().filter(|l| !l.starts_with("0x")).map(str::to_string).collect();
    // Compared field by field: ids of other widths pad the columns otherwise.
    let row = text.lines().find(|l| l.split_whitespace().nth(1) == Some(id)).map(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        let normal: Vec<&str> = ["KEY", "ID"].into_iter().chain(fields.iter().skip(2).copied()).collect();
        (fields[0].to_string(), normal.join(" "))
    });
    (header, row)
}

/// Creates one object with `ipcmk <mk>` natively and under mactux, lists
/// it with `ipcs <kind>` in another run, removes it by key with `ipcrm
/// <by_key> KEY` in a third, and checks that it is gone.
fn make_list_remove(mk: &[&str], kind: &'static str, by_key: &str) {
    let ipcmk: Vec<&str> = std::iter::once("ipcmk").chain(mk.iter().copied()).collect();
    let native_id = made_id(&run_native(&Run::cmd(&ipcmk)));
    let _native = NativeObject(kind, native_id.clone());
    let id = made_id(&run_mactux(&Run::cmd(&ipcmk)));

    let (native_header, native_row) = table_row(&run_native(&Run::cmd(&["ipcs", kind])), &native_id);
    let (header, row) = table_row(&run_mactux(&Run::cmd(&["ipcs", kind])), &id);
    assert_eq!(header, native_header, "ipcs {kind} headers");
    let (Some((_, native_line)), Some((key, line))) = (native_row, row) else {
        panic!("ipcs {kind} does not list the object made by ipcmk (native id {native_id}, mactux id {id})");
    };
    assert_eq!(line, native_line, "ipcs {kind} rows");

    // /proc/sysvipc lists it too, in Linux's columns.
    let file = format!("/proc/sysvipc/{}", match kind {
        "-m" => "shm",
        "-s" => "sem",
        _ => "msg",
    });
    let proc_row = |o: &Outcome, id: &str| -> (String, Option<Vec<String>>) {
        assert!(o.is_success(), "cat {file}: {}", o.stderr_str());
        let text = o.stdout_str();
        let header = text.lines().next().unwrap_or("").to_string();
        let row = text.lines().find(|l| l.split_whitespace().nth(1) == Some(id));
        (header, row.map(|l| l.split_whitespace().map(str::to_string).collect()))
    };
    let (native_header, native_fields) = proc_row(&run_native(&Run::cmd(&["cat", &file])), &native_id);
    let (header, fields) = proc_row(&run_mactux(&Run::cmd(&["cat", &file])), &id);
    assert_eq!(header, native_header, "{file} header");
    let (Some(native_fields), Some(fields)) = (native_fields, fields) else { panic!("{file} does not list the object") };
    assert_eq!(fields.len(), native_fields.len(), "{file} columns: {fields:?} vs {native_fields:?}");
    assert_eq!(fields[2..4], native_fields[2..4], "{file} perms and the next column");
    assert_eq!(fields[0], u32::from_str_radix(key.trim_start_matches("0x"), 16).map(|k| (k as i32).to_string()).unwrap_or_default(), "{file} key");

    let removed = run_mactux(&Run::cmd(&["ipcrm", by_key, &key]));
    assert!(removed.is_success(), "ipcrm {by_key} {key}: {}", removed.stderr_str());
    let (_, row) = table_row(&run_mactux(&Run::cmd(&["ipcs", kind])), &id);
    assert_eq!(row, None, "ipcrm {by_key} {key} in another run removed the object");
}

#[test]
fn ipcmk_ipcs_ipcrm_share_objects_across_runs() {
    if !require_tool("/usr/bin/ipcmk", "util-linux") {
        return;
    }
    make_list_remove(&["-M", "4096"], "-m", "-M");
    make_list_remove(&["-S", "3"], "-s", "-S");
    make_list_remove(&["-Q"], "-q", "-Q");
}
