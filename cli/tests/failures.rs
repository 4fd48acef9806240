//! Failures of the `safebox` binary: each one named, with its exit code,
//! and without using up a link that could still work.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::net::TcpListener;
use std::path::Path;

use common::{TestServer, entries, link_id, safebox, stderr, upload};

/// Uploads a small file and returns the link.
fn upload_sample(server: &TestServer, content: &[u8]) -> String {
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("sample.txt");
    fs::write(&source, content).unwrap();
    upload(server, &source, &[])
}

#[test]
fn second_download_already_downloaded() {
    let server = TestServer::start();
    let link = upload_sample(&server, b"once");
    let recipient = tempfile::tempdir().unwrap();

    let first = safebox(recipient.path(), &["download", &link]);
    assert!(first.status.success(), "{}", stderr(&first));
    // The download was confirmed, so the server deleted the ciphertext.
    assert!(!server.blob_path(&link_id(&link)).exists());
    assert!(!stderr(&first).contains("warning"), "{}", stderr(&first));

    let again = tempfile::tempdir().unwrap();
    let second = safebox(again.path(), &["download", &link]);
    assert_eq!(second.status.code(), Some(4), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("already downloaded at"),
        "{}",
        stderr(&second)
    );
    assert!(
        stderr(&second).contains("a download that failed after it started used it too"),
        "{}",
        stderr(&second)
    );
    assert!(entries(again.path()).is_empty());
}

#[test]
fn wrong_key_not_found_burns_nothing() {
    let server = TestServer::start();
    let link = upload_sample(&server, b"secret");

    // Change the first character of the key to another base64url letter.
    let (page, fragment) = link.split_once('#').unwrap();
    let (id, key) = fragment.split_once('.').unwrap();
    let first = if key.starts_with('A') { 'B' } else { 'A' };
    let wrong = format!("{page}#{id}.{first}{}", &key[1..]);

    let recipient = tempfile::tempdir().unwrap();
    let rejected = safebox(recipient.path(), &["download", &wrong]);
    assert_eq!(rejected.status.code(), Some(3), "{}", stderr(&rejected));
    assert!(stderr(&rejected).contains("not found"));
    assert!(entries(recipient.path()).is_empty());

    let right = safebox(recipient.path(), &["download", &link]);
    assert!(right.status.success(), "{}", stderr(&right));
    assert_eq!(
        fs::read(recipient.path().join("sample.txt")).unwrap(),
        b"secret"
    );
}

#[test]
fn invalid_links_make_no_request() {
    // The links point at this listener, which must receive no connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let id = "AAAAAAAAAAAAAAAA";
    let key = "BBBBBBBBBBBBBBBBBBBBBA";

    let cases = [
        (format!("{origin}/"), "no '#' part"),
        (format!("{origin}/#{id}.{}", &key[..10]), "too short"),
        // A bare word is read as the part after '#', which it does not name.
        ("garbage".to_owned(), "the file id and key are too short"),
        (format!("{origin}/#{id}.{key}AAAA"), "too long"),
        (format!("{origin}/#{id}!{key}"), "not a file id and a key"),
        (
            format!("{origin}/#{id}.{key}.flags"),
            "not a file id and a key",
        ),
        (
            format!("ftp://127.0.0.1/#{id}.{key}"),
            "not an http or https URL",
        ),
    ];
    let working = tempfile::tempdir().unwrap();
    for (link, expected) in cases {
        let output = safebox(working.path(), &["download", &link]);
        assert_eq!(output.status.code(), Some(2), "{link}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("invalid link"),
            "{link}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(expected),
            "{link}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("hint:"),
            "{link}: {}",
            stderr(&output)
        );
    }
    assert!(listener.accept().is_err(), "a request was made");
    assert!(entries(working.path()).is_empty());
}

#[test]
fn expired_link_reports_expiry() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("short.txt");
    fs::write(&source, b"brief").unwrap();
    let link = upload(&server, &source, &["--expires", "60s"]);

    server.clock.advance(61);

    let recipient = tempfile::tempdir().unwrap();
    let output = safebox(recipient.path(), &["download", &link]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("expired at"),
        "{}",
        stderr(&output)
    );
    assert!(entries(recipient.path()).is_empty());
}

#[test]
fn tampered_ciphertext_leaves_nothing() {
    let server = TestServer::start();
    let link = upload_sample(&server, &[7u8; 100_000]);
    let blob = server.blob_path(&link_id(&link));
    let mut ciphertext = fs::read(&blob).unwrap();
    ciphertext[50_000] ^= 0x01;
    fs::write(&blob, &ciphertext).unwrap();

    let recipient = tempfile::tempdir().unwrap();
    let output = safebox(recipient.path(), &["download", &link]);

    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(stderr(&output).contains("decryption failed"));
    assert!(
        stderr(&output).contains("This attempt used the link"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("The encrypted file was deleted from the server."),
        "{}",
        stderr(&output)
    );
    assert!(!blob.exists(), "the used-up ciphertext is still stored");
    assert!(
        entries(recipient.path()).is_empty(),
        "{:?}",
        entries(recipient.path())
    );
}

#[test]
fn server_down_names_host() {
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sender = tempfile::tempdir().unwrap();
    fs::write(sender.path().join("f.txt"), b"f").unwrap();
    let server = format!("http://127.0.0.1:{closed_port}");

    let output = safebox(sender.path(), &["upload", "f.txt", "--server", &server]);

    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(stderr(&output).contains(&format!("127.0.0.1:{closed_port}")));
    assert!(output.stdout.is_empty());
}

#[test]
fn upload_missing_file() {
    let server = TestServer::start();
    let working = tempfile::tempdir().unwrap();

    let output = safebox(
        working.path(),
        &["upload", "absent.txt", "--server", &server.url],
    );

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("absent.txt"));
}

#[test]
fn upload_directory_rejected() {
    let server = TestServer::start();
    let working = tempfile::tempdir().unwrap();
    let directory = working.path().to_str().unwrap();

    let output = safebox(
        Path::new("/"),
        &["upload", directory, "--server", &server.url],
    );

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("not a regular file"));
}

#[test]
fn upload_expiry_out_of_range() {
    let working = tempfile::tempdir().unwrap();
    fs::write(working.path().join("f.txt"), b"f").unwrap();

    for value in ["30s", "2d", "1w", "-5m"] {
        let output = safebox(working.path(), &["upload", "f.txt", "--expires", value]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{value}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("invalid expiry"), "{value}");
    }
}

#[test]
fn bare_fragment_uses_server_option() {
    let server = TestServer::start();
    let link = upload_sample(&server, b"bare");
    let fragment = link.split_once('#').unwrap().1;
    let recipient = tempfile::tempdir().unwrap();

    let output = safebox(
        recipient.path(),
        &["download", fragment, "--server", &server.url],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fs::read(recipient.path().join("sample.txt")).unwrap(),
        b"bare"
    );
}

#[test]
fn interrupt_deletes_pending_upload() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("large.bin");
    // 1 GiB, sparse, so the upload is still running when the signal comes.
    fs::File::create(&source).unwrap().set_len(1 << 30).unwrap();

    let child = std::process::Command::new(env!("CARGO_BIN_EXE_safebox"))
        .args(["upload", source.to_str().unwrap(), "--server", &server.url])
        .env_remove("SAFEBOX_SERVER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // Wait until ciphertext reaches the server, then press "Ctrl-C". The
    // record alone is not enough: it exists before the client has read the
    // owner token it needs to delete the upload.
    let partial_uploads = server.data_dir.join("uploads");
    let started = std::time::Instant::now();
    while !has_nonempty_file(&partial_uploads) {
        assert!(
            started.elapsed().as_secs() < 30,
            "no ciphertext reached the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !server.records_due(u64::MAX / 2).is_empty(),
        "the upload has no record"
    );
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "a link was printed");
    assert!(
        stderr(&output).contains("The upload was deleted from the server; no link was made."),
        "{}",
        stderr(&output)
    );
    assert!(
        server.records_due(u64::MAX / 2).is_empty(),
        "the upload was not deleted"
    );
}

#[test]
fn upload_closed_stdout_deletes_upload() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("sample.txt");
    fs::write(&source, b"lost link").unwrap();

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_safebox"))
        .args(["upload", source.to_str().unwrap(), "--server", &server.url])
        .env_remove("SAFEBOX_SERVER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closes the reading end, as `safebox upload FILE | true` does.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot write the link to standard output"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("the upload was deleted"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("--output"), "{}", stderr(&output));
    assert!(
        server.records_due(u64::MAX / 2).is_empty(),
        "the upload was not deleted"
    );
}

/// Returns whether `dir` contains a file with at least one byte.
fn has_nonempty_file(dir: &std::path::Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .any(|entry| entry.metadata().is_ok_and(|metadata| metadata.len() > 0))
}

/// Serves one HTTP request on `listener` with `response`, and returns the
/// request's head.
fn answer_once(listener: TcpListener, response: &'static str) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || answer_next(&listener, response))
}

/// Serves one request per response, in order, each on its own connection,
/// and returns the requests' heads.
fn answer_each(
    listener: TcpListener,
    responses: Vec<String>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        responses
            .iter()
            .map(|response| answer_next(&listener, response))
            .collect()
    })
}

fn answer_next(listener: &TcpListener, response: &str) -> String {
    use std::io::{Read, Write};
    let (mut stream, _) = listener.accept().unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        let count = stream.read(&mut buffer).unwrap();
        if count == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..count]);
    }
    stream.write_all(response.as_bytes()).unwrap();
    String::from_utf8_lossy(&request).into_owned()
}

/// Returns an HTTP response with a JSON body.
fn json_response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn redirect_not_followed() {
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let redirect: &'static str = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{}/steal\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            trap.local_addr().unwrap()
        )
        .into_boxed_str(),
    );
    let hostile = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("http://{}", hostile.local_addr().unwrap());
    let handle = answer_once(hostile, redirect);
    let link = format!("{server}/#AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBA");
    let working = tempfile::tempdir().unwrap();

    let output = safebox(working.path(), &["download", &link, "--server", &server]);

    assert!(handle.join().unwrap().starts_with("GET /api/v1/config "));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("HTTP 307"), "{}", stderr(&output));
    assert!(trap.accept().is_err(), "the redirect was followed");
}

#[test]
fn output_missing_directory_keeps_link() {
    let server = TestServer::start();
    let link = upload_sample(&server, b"kept");
    let recipient = tempfile::tempdir().unwrap();

    let rejected = safebox(recipient.path(), &["download", &link, "-o", "newdir/"]);
    assert_eq!(rejected.status.code(), Some(1), "{}", stderr(&rejected));
    assert!(
        stderr(&rejected).contains("newdir/ is not an existing directory"),
        "{}",
        stderr(&rejected)
    );
    assert!(
        stderr(&rejected).contains("The link was not used"),
        "{}",
        stderr(&rejected)
    );
    assert!(entries(recipient.path()).is_empty());

    let retried = safebox(recipient.path(), &["download", &link]);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert_eq!(
        fs::read(recipient.path().join("sample.txt")).unwrap(),
        b"kept"
    );
}

#[test]
fn output_missing_parent_keeps_link() {
    let server = TestServer::start();
    let link = upload_sample(&server, b"kept");
    let recipient = tempfile::tempdir().unwrap();

    let rejected = safebox(
        recipient.path(),
        &["download", &link, "-o", "missing/x.txt"],
    );
    assert_eq!(rejected.status.code(), Some(1), "{}", stderr(&rejected));
    assert!(
        stderr(&rejected).contains("missing is not an existing directory"),
        "{}",
        stderr(&rejected)
    );
    assert!(
        !stderr(&rejected).contains(".part"),
        "the temporary file was named: {}",
        stderr(&rejected)
    );
    assert!(
        stderr(&rejected).contains("The link was not used"),
        "{}",
        stderr(&rejected)
    );
    assert!(entries(recipient.path()).is_empty());

    let retried = safebox(recipient.path(), &["download", &link, "-o", "x.txt"]);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert_eq!(fs::read(recipient.path().join("x.txt")).unwrap(), b"kept");
}

#[test]
fn upload_over_config_limit() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("huge.bin");
    // Sparse, and larger than the default 4 GiB limit once encrypted.
    fs::File::create(&source).unwrap().set_len(4 << 30).unwrap();

    let output = safebox(
        sender.path(),
        &["upload", source.to_str().unwrap(), "--server", &server.url],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("server accepts at most {}", 4u64 << 30)),
        "{}",
        stderr(&output)
    );
    assert!(server.records_due(u64::MAX / 2).is_empty());
}

#[test]
fn upload_rejected_too_large() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("http://{}", listener.local_addr().unwrap());
    let config = format!(r#"{{"page_url":"{server}/","max_size":1000000,"max_expires_in":86400}}"#);
    let rejection = r#"{"error":"too_large","message":"too large","max_size":10}"#;
    let handle = answer_each(
        listener,
        vec![
            json_response("200 OK", &config),
            json_response("413 Payload Too Large", rejection),
        ],
    );
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("sample.txt");
    fs::write(&source, b"more than ten bytes").unwrap();

    let output = safebox(
        sender.path(),
        &["upload", source.to_str().unwrap(), "--server", &server],
    );

    let requests = handle.join().unwrap();
    assert!(
        requests[1].starts_with("POST /api/v1/uploads"),
        "{requests:?}"
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("file too large"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("server accepts at most 10"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains(" 0 bytes"), "{}", stderr(&output));
}

#[test]
fn upload_server_with_api_path() {
    let server = TestServer::start();
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("sample.txt");
    fs::write(&source, b"data").unwrap();
    let wrong = format!("{}/api/v1", server.url);

    let output = safebox(
        sender.path(),
        &["upload", source.to_str().unwrap(), "--server", &wrong],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("does not look like a Safebox server"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("base URL"), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("not found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn upload_other_http_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("http://{}", listener.local_addr().unwrap());
    let handle = answer_once(
        listener,
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\
         Content-Length: 9\r\nConnection: close\r\n\r\nNot Found",
    );
    let sender = tempfile::tempdir().unwrap();
    let source = sender.path().join("sample.txt");
    fs::write(&source, b"data").unwrap();

    let output = safebox(
        sender.path(),
        &["upload", source.to_str().unwrap(), "--server", &server],
    );

    assert!(handle.join().unwrap().starts_with("GET /api/v1/config"));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("link was not used"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("before it uses the link"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains(&format!("{server}/ does not look like a Safebox server")),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("a download uses"),
        "an upload's hint is about downloads: {}",
        stderr(&output)
    );
}

/// Returns a 404 response with an HTML body, as a web server other than
/// Safebox sends.
fn html_not_found() -> String {
    let body = "<html><body>Not Found</body></html>";
    format!(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Serves every request on `listener` with `response` until `stop` is set,
/// and returns each request whole: head and body.
fn answer_all(
    listener: TcpListener,
    response: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<std::io::Result<Vec<String>>> {
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut requests = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => requests.push(answer_whole(stream, &response)),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(requests)
    })
}

/// Reads one request with its `Content-Length` body from `stream`, sends
/// `response` and returns the request.
fn answer_whole(mut stream: std::net::TcpStream, response: &str) -> String {
    use std::io::{Read, Write};
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = request.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        let count = stream.read(&mut buffer).unwrap();
        if count == 0 {
            break request.len();
        }
        request.extend_from_slice(&buffer[..count]);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let body_length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().unwrap());
    while request.len() < head_end + body_length {
        let count = stream.read(&mut buffer).unwrap();
        assert_ne!(count, 0, "the request body ended early");
        request.extend_from_slice(&buffer[..count]);
    }
    stream.write_all(response.as_bytes()).unwrap();
    String::from_utf8_lossy(&request).into_owned()
}

#[test]
fn download_other_server_gets_no_token() {
    let server = TestServer::start();
    let link = upload_sample(&server, b"still here");
    let claim_token = safebox_crypto::Link::parse(&link)
        .unwrap()
        .secret
        .claim_token()
        .to_base64();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = format!("http://{}", listener.local_addr().unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handle = answer_all(listener, html_not_found(), std::sync::Arc::clone(&stop));
    let recipient = tempfile::tempdir().unwrap();

    let output = safebox(recipient.path(), &["download", &link, "--server", &other]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let requests = handle.join().unwrap().unwrap();

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("{other}/ does not look like a Safebox server")),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("The link was not used."),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("not found on"),
        "{}",
        stderr(&output)
    );
    assert!(entries(recipient.path()).is_empty());
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].starts_with("GET /api/v1/config "),
        "{requests:?}"
    );
    for request in &requests {
        assert!(
            !request.contains(claim_token.as_str()),
            "the claim token was sent: {request}"
        );
    }

    let retried = safebox(recipient.path(), &["download", &link]);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert_eq!(
        fs::read(recipient.path().join("sample.txt")).unwrap(),
        b"still here"
    );
}

#[test]
fn download_not_found_json_still_not_found() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("http://{}", listener.local_addr().unwrap());
    let config = format!(r#"{{"page_url":"{server}/","max_size":1000000,"max_expires_in":86400}}"#);
    let not_found = r#"{"error":"not_found","message":"no such file"}"#;
    let fake = answer_each(
        listener,
        vec![
            json_response("200 OK", &config),
            json_response("404 Not Found", not_found),
        ],
    );
    let link = format!("{server}/#AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBA");
    let recipient = tempfile::tempdir().unwrap();

    let output = safebox(recipient.path(), &["download", &link, "--server", &server]);

    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("file not found on"),
        "{}",
        stderr(&output)
    );
    let requests = fake.join().unwrap();
    assert!(
        requests[0].starts_with("GET /api/v1/config "),
        "{requests:?}"
    );
    assert!(
        requests[1].starts_with("POST /api/v1/files/AAAAAAAAAAAAAAAA/info "),
        "{requests:?}"
    );
}

#[test]
fn interrupt_after_claim_says_link_used() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use safebox_crypto::{FileId, Link, LinkSecret, Metadata, encrypt_metadata};
    use std::io::Write;

    // A fake server: config, info and claim succeed, then the blob's body stops
    // after a few bytes and the connection stays open.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("http://{}", listener.local_addr().unwrap());
    let link = Link::new(FileId::generate(), LinkSecret::generate());
    let size: u64 = 1 << 20;
    let metadata = Metadata {
        name: "stalled.bin".to_owned(),
        mime: "application/octet-stream".to_owned(),
        size,
    };
    let sealed = encrypt_metadata(&link.secret.metadata_key(), &metadata).unwrap();
    let info = format!(
        r#"{{"size":{size},"expires_at":4000000000,"metadata":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(sealed)
    );
    let claimed =
        format!(r#"{{"download_url":"{server}/blob","expires_at":4000000000,"size":{size}}}"#);
    let (blob_sent, blob_started) = std::sync::mpsc::channel();
    let config = format!(r#"{{"page_url":"{server}/","max_size":2000000,"max_expires_in":86400}}"#);
    let fake = std::thread::spawn(move || {
        answer_next(&listener, &json_response("200 OK", &config));
        answer_next(&listener, &json_response("200 OK", &info));
        answer_next(&listener, &json_response("200 OK", &claimed));
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut buffer = [0u8; 4096];
        while !head.windows(4).any(|window| window == b"\r\n\r\n") {
            let count = std::io::Read::read(&mut stream, &mut buffer).unwrap();
            assert_ne!(count, 0, "the blob request ended early");
            head.extend_from_slice(&buffer[..count]);
        }
        stream
            .write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\nabc").as_bytes())
            .unwrap();
        blob_sent.send(()).unwrap();
        // The client deletes the ciphertext on Ctrl-C, while the blob's
        // connection is still open.
        let deletion = answer_next(
            &listener,
            "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        // Keeps the connection open until the client exits.
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stream, &mut rest);
        deletion
    });
    let recipient = tempfile::tempdir().unwrap();

    let child = std::process::Command::new(env!("CARGO_BIN_EXE_safebox"))
        .args(["download", &link.to_url(&server), "--server", &server])
        .current_dir(recipient.path())
        .env_remove("SAFEBOX_SERVER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    blob_started
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the blob was requested");
    // Gives the client time to read the head before the signal.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let deletion = fake.join().unwrap();

    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("This attempt used the link"),
        "{}",
        stderr(&output)
    );
    assert!(
        deletion.starts_with(&format!("DELETE /api/v1/files/{} ", link.id.as_str())),
        "{deletion}"
    );
    assert!(
        stderr(&output).contains("The encrypted file was deleted from the server."),
        "{}",
        stderr(&output)
    );
    assert!(
        entries(recipient.path()).is_empty(),
        "{:?}",
        entries(recipient.path())
    );
}
