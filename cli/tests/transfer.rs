//! Uploads and downloads through the `safebox` binary against a real server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;

use common::{TestServer, entries, link_id, safebox, stderr, stdout, upload};
use rand::RngCore;
use safebox_cli::api::Api;
use safebox_cli::upload::upload_reader;
use safebox_crypto::Metadata;

#[test]
fn round_trip_sizes() {
    let server = TestServer::start();
    let mut large = vec![0u8; 3 * 1024 * 1024 + 17];
    rand::thread_rng().fill_bytes(&mut large);

    for (name, content) in [
        ("empty.bin", Vec::new()),
        ("one.txt", vec![b'x']),
        ("large.dat", large),
    ] {
        let sender = tempfile::tempdir().unwrap();
        let recipient = tempfile::tempdir().unwrap();
        let source = sender.path().join(name);
        fs::write(&source, &content).unwrap();

        let link = upload(&server, &source, &["--expires", "1h"]);
        assert!(
            link.starts_with(&format!("{}/#", server.url)),
            "link {link:?}"
        );

        let output = safebox(recipient.path(), &["download", &link]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let received = fs::read(recipient.path().join(name)).unwrap();
        assert_eq!(received.len(), content.len(), "{name}: length");
        assert!(received == content, "{name}: content differs");
        assert_eq!(
            entries(recipient.path()),
            vec![name.to_owned()],
            "{name}: leftovers"
        );
    }
}

#[test]
fn upload_prints_link_last() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("note.txt");
    fs::write(&source, b"hello").unwrap();

    let output = safebox(
        sender.path(),
        &["upload", "note.txt", "--server", &server.url],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "stdout: {text:?}");
    let link = text.trim_end();
    assert!(
        !stderr(&output).contains(link.split('#').nth(1).unwrap()),
        "key on stderr"
    );
    assert!(stderr(&output).contains("expires at"));
}

#[test]
fn download_to_stdout() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("data.bin");
    let mut content = vec![0u8; 200_000];
    rand::thread_rng().fill_bytes(&mut content);
    fs::write(&source, &content).unwrap();
    let link = upload(&server, &source, &[]);

    let recipient = tempfile::tempdir().unwrap();
    let output = safebox(recipient.path(), &["download", &link, "--output", "-"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stdout == content, "stdout differs from the file");
    assert!(entries(recipient.path()).is_empty());
}

#[test]
fn download_into_directory_output() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("report.pdf");
    fs::write(&source, b"%PDF-1.7").unwrap();
    let link = upload(&server, &source, &[]);

    let recipient = tempfile::tempdir().unwrap();
    let inbox = recipient.path().join("inbox");
    fs::create_dir(&inbox).unwrap();
    let output = safebox(recipient.path(), &["download", &link, "-o", "inbox"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fs::read(inbox.join("report.pdf")).unwrap(), b"%PDF-1.7");
}

#[test]
fn existing_output_refused_before_claim() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("same.txt");
    fs::write(&source, b"new content").unwrap();
    let link = upload(&server, &source, &[]);

    let recipient = tempfile::tempdir().unwrap();
    let existing = recipient.path().join("same.txt");
    fs::write(&existing, b"old content").unwrap();

    let rejected = safebox(recipient.path(), &["download", &link]);
    assert_eq!(rejected.status.code(), Some(8), "{}", stderr(&rejected));
    assert!(stderr(&rejected).contains("already exists"));
    assert!(stderr(&rejected).contains("--force"));
    assert_eq!(fs::read(&existing).unwrap(), b"old content");
    assert_eq!(entries(recipient.path()), vec!["same.txt".to_owned()]);

    // The rejected download did not use up the link.
    let forced = safebox(recipient.path(), &["download", &link, "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(fs::read(&existing).unwrap(), b"new content");
}

#[test]
fn existing_output_path_refused() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("a.txt");
    fs::write(&source, b"a").unwrap();
    let link = upload(&server, &source, &[]);

    let recipient = tempfile::tempdir().unwrap();
    fs::write(recipient.path().join("taken"), b"keep").unwrap();

    let rejected = safebox(recipient.path(), &["download", &link, "--output", "taken"]);
    assert_eq!(rejected.status.code(), Some(8), "{}", stderr(&rejected));

    let other = safebox(recipient.path(), &["download", &link, "--output", "free"]);
    assert!(other.status.success(), "{}", stderr(&other));
    assert_eq!(fs::read(recipient.path().join("free")).unwrap(), b"a");
    assert_eq!(fs::read(recipient.path().join("taken")).unwrap(), b"keep");
}

/// Uploads `content` under a sender-chosen `name` through the library, as a
/// hostile sender could, and returns the link.
fn upload_named(server: &TestServer, name: &str, content: &[u8]) -> String {
    let api = Api::new(&server.url).unwrap();
    let metadata = Metadata {
        name: name.to_owned(),
        mime: "text/plain".to_owned(),
        size: content.len() as u64,
    };
    let uploaded = upload_reader(
        &api,
        std::io::Cursor::new(content.to_vec()),
        metadata,
        std::path::Path::new("crafted"),
        3_600,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    let link = uploaded.link.to_string();
    uploaded.keep();
    link
}

#[test]
fn hostile_name_stays_in_directory() {
    let server = TestServer::start();
    let link = upload_named(&server, "../../evil", b"payload");

    let root = tempfile::tempdir().unwrap();
    let working = root.path().join("a").join("b");
    fs::create_dir_all(&working).unwrap();
    let output = safebox(&working, &["download", &link]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fs::read(working.join("evil")).unwrap(), b"payload");
    assert_eq!(entries(root.path()), vec!["a".to_owned()]);
    assert_eq!(entries(&root.path().join("a")), vec!["b".to_owned()]);
}

#[test]
fn unusable_names_get_fallback() {
    let server = TestServer::start();
    for name in ["..", "/", "", " . ", "dir/"] {
        let link = upload_named(&server, name, b"x");
        let working = tempfile::tempdir().unwrap();

        let output = safebox(working.path(), &["download", &link]);

        assert!(output.status.success(), "{name:?}: {}", stderr(&output));
        let expected = format!("safebox-{}", link_id(&link));
        assert_eq!(entries(working.path()), vec![expected], "{name:?}");
    }
}

#[test]
fn escape_in_name_replaced() {
    let server = TestServer::start();
    let link = upload_named(&server, "bad\u{1b}[2Jname", b"x");
    let working = tempfile::tempdir().unwrap();

    let output = safebox(working.path(), &["download", &link]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(entries(working.path()), vec!["bad_[2Jname".to_owned()]);
    assert!(!stderr(&output).contains('\u{1b}'), "escape reached stderr");
    assert!(
        stderr(&output).contains("saved as bad_[2Jname because"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn hidden_name_made_visible() {
    let server = TestServer::start();
    let link = upload_named(&server, ".bashrc", b"echo hi");
    let working = tempfile::tempdir().unwrap();

    let output = safebox(working.path(), &["download", &link]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(entries(working.path()), vec!["bashrc".to_owned()]);
    assert!(
        stderr(&output).contains(
            "saved as bashrc because the sender's name \".bashrc\" is not safe to use as a \
             file name here"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn chosen_output_name_not_reported() {
    let server = TestServer::start();
    let link = upload_named(&server, ".bashrc", b"echo hi");
    let working = tempfile::tempdir().unwrap();

    let output = safebox(working.path(), &["download", &link, "-o", "chosen.txt"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(entries(working.path()), vec!["chosen.txt".to_owned()]);
    assert!(
        !stderr(&output).contains("not safe to use"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn safe_name_not_reported() {
    let server = TestServer::start();
    let link = upload_named(&server, "plain.txt", b"x");
    let working = tempfile::tempdir().unwrap();

    let output = safebox(working.path(), &["download", &link]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("not safe to use"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("Saved plain.txt (1 byte)."),
        "{}",
        stderr(&output)
    );
}

#[test]
fn device_name_prefixed() {
    let server = TestServer::start();
    let link = upload_named(&server, "nul.txt", b"x");
    let working = tempfile::tempdir().unwrap();

    let output = safebox(working.path(), &["download", &link]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(entries(working.path()), vec!["_nul.txt".to_owned()]);
    assert!(
        stderr(&output).contains("saved as _nul.txt because the sender's name \"nul.txt\""),
        "{}",
        stderr(&output)
    );
}

/// A source that fails after `remaining` bytes, like a disk read error.
struct FailingReader {
    remaining: usize,
}

impl std::io::Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            return Err(std::io::Error::other("simulated read failure"));
        }
        let count = buf.len().min(self.remaining);
        buf[..count].fill(b'z');
        self.remaining -= count;
        Ok(count)
    }
}

#[test]
fn failed_upload_deleted_on_server() {
    let server = TestServer::start();
    let completed = upload_named(&server, "kept.txt", b"kept");

    let api = Api::new(&server.url).unwrap();
    let metadata = Metadata {
        name: "broken.bin".to_owned(),
        mime: "application/octet-stream".to_owned(),
        size: 500_000,
    };
    let result = upload_reader(
        &api,
        FailingReader { remaining: 200_000 },
        metadata,
        std::path::Path::new("broken.bin"),
        3_600,
        &indicatif::ProgressBar::hidden(),
    );

    let error = result.err().expect("the upload fails");
    assert!(
        error.to_string().contains("simulated read failure"),
        "{error}"
    );
    // Far past both expiries, only the completed upload is still pending
    // deletion: the failed one was deleted when the upload failed.
    let due = server.records_due(u64::MAX / 2);
    let due_ids: Vec<&str> = due.iter().map(|record| record.id.as_str()).collect();
    assert_eq!(due_ids, vec![link_id(&completed).as_str()]);
}

#[test]
fn output_appearing_mid_download_kept() {
    let server = TestServer::start();
    let link = upload_named(&server, "late.txt", b"plaintext");
    let parsed = safebox_cli::download::parse_link(&link).unwrap();
    let api = Api::new(&server.url).unwrap();

    // The output appears after the existence check, before the rename.
    let recipient = tempfile::tempdir().unwrap();
    let path = recipient.path().join("late.txt");
    fs::write(&path, b"someone else's").unwrap();
    let result = safebox_cli::download::download(
        &api,
        &parsed.link,
        safebox_cli::download::Destination::File(path.clone()),
        false,
        &indicatif::ProgressBar::hidden(),
    );

    let Err(safebox_cli::Error::OutputAppeared { saved, .. }) = result else {
        panic!("expected OutputAppeared");
    };
    assert_eq!(fs::read(&path).unwrap(), b"someone else's");
    assert_eq!(fs::read(&saved).unwrap(), b"plaintext");
    assert_eq!(saved.parent(), Some(recipient.path()));
    assert!(
        !server.blob_path(&link_id(&link)).exists(),
        "the ciphertext of a complete download is still stored"
    );
}
