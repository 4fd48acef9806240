//! Download: claim a file, then decrypt it record by record as it streams.
//!
//! Everything that can fail without using up the link happens before the
//! claim: parsing the link, checking that the server is a Safebox server,
//! reading the file's info, decrypting its name, checking the output path
//! and creating the temporary file. The plaintext goes to a temporary file
//! next to the output, which is renamed into place only after the last
//! record authenticated, so a failed download leaves nothing behind.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use indicatif::ProgressBar;
use reqwest::Url;
use safebox_crypto::{
    ClaimAttempt, Decryptor, HEADER_LEN, Link, LinkError, LinkSecret, Metadata, RecordLayout,
    TAG_LEN, decrypt_metadata,
};
use tempfile::NamedTempFile;

use safebox_protocol::ClaimResponse;

use crate::api::{Api, host_of};
use crate::error::{Error, LINK_USED_HINT, LinkProblem};
use crate::interrupt::CleanupGuard;
use crate::resume::{ResumingDownload, describe_read_error};

/// A parsed link and the web page it points to.
pub struct ParsedLink {
    /// The file id and secret.
    pub link: Link,
    /// The page part of the link, without the fragment; `None` for a bare
    /// `id.secret`.
    pub page_url: Option<Url>,
}

/// Parses a link as the user pasted it: a full URL or only its fragment.
/// Makes no request.
///
/// # Errors
///
/// [`Error::InvalidLink`] naming the part that is wrong.
pub fn parse_link(text: &str) -> Result<ParsedLink, Error> {
    let link = Link::parse(text).map_err(|error| {
        Error::InvalidLink(match error {
            LinkError::MissingFragment => LinkProblem::MissingFragment,
            LinkError::Malformed => LinkProblem::Malformed,
            LinkError::Truncated => LinkProblem::Truncated,
            LinkError::TooLong => LinkProblem::TooLong,
        })
    })?;

    // A bare `id.secret` or `#id.secret` names no page.
    let page = text.trim().split_once('#').map_or("", |(page, _)| page);
    let page_url = if page.is_empty() {
        None
    } else {
        let url = Url::parse(page).map_err(|_| Error::InvalidLink(LinkProblem::NotUrl))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::InvalidLink(LinkProblem::NotUrl));
        }
        Some(url)
    };
    Ok(ParsedLink { link, page_url })
}

/// Returns the API base URL for a link: `config.json` next to the page names
/// it, else the API is assumed to share the page's origin.
pub fn api_url_for_page(page_url: &Url) -> String {
    if let Some(api_url) = crate::api::discover_api_url(page_url) {
        return api_url.to_string();
    }
    let mut origin = page_url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin.to_string()
}

/// Destination of the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A file, created next to its final path and renamed there.
    File(PathBuf),
    /// Standard output, one authenticated record at a time.
    Stdout,
}

/// Output options of [`preview`] and [`download`].
pub struct DownloadOptions {
    /// `--output`: a file, a directory or `-`; `None` for the sender's file
    /// name in the current directory.
    pub output: Option<PathBuf>,
    /// Overwrite an existing output file.
    pub force: bool,
}

/// File details read before the claim.
pub struct Preview {
    /// The sender's metadata; the name is untrusted.
    pub metadata: Metadata,
    /// When the file expires, in Unix seconds.
    pub expires_at: u64,
    /// The output it is to be written to.
    pub destination: Destination,
    /// Whether the output's file name is the sender's name, changed because
    /// that name is not safe to use as a file name here. False when the user
    /// chose a file or standard output with `--output`.
    pub name_changed: bool,
}

/// A finished download.
pub struct Downloaded {
    /// The output the plaintext was written to.
    pub destination: Destination,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Whether the server accepted the confirmation. If not, it deletes the
    /// ciphertext later by itself.
    pub confirmed: bool,
}

/// Checks that `api` is a Safebox server, reads the file's info and
/// decides where it goes, without using up the link.
///
/// # Errors
///
/// [`Error::NotSafeboxServer`] if the server does not serve Safebox's
/// configuration, [`Error::NotFound`], [`Error::AlreadyDownloaded`] or
/// [`Error::Expired`] from the server, [`Error::DecryptionFailed`] if the
/// metadata does not authenticate, and [`Error::OutputExists`] if the
/// output exists and `force` is not set.
pub fn preview(api: &Api, link: &Link, options: &DownloadOptions) -> Result<Preview, Error> {
    // The claim token goes only to a server that returns Safebox's
    // configuration. Any other server that received it could use it to
    // claim the file on the real server and so burn the link.
    api.config().map_err(|error| match error {
        Error::NotSafeboxServer { url, detail, .. } => Error::NotSafeboxServer {
            url,
            detail,
            link_unused: true,
        },
        error => error,
    })?;

    let claim_token = link.secret.claim_token().to_base64();
    let info = api.info(link.id.as_str(), &claim_token)?;

    let sealed = URL_SAFE_NO_PAD
        .decode(info.metadata.as_bytes())
        .map_err(|_| Error::Protocol {
            host: api.host(),
            detail: "the metadata is not base64url".to_owned(),
        })?;
    let metadata = decrypt_metadata(&link.secret.metadata_key(), &sealed)
        .map_err(|_| Error::DecryptionFailed)?;

    let name = metadata.safe_file_name(&link.id);
    let destination = choose_destination(options, &name)?;
    let uses_sender_name = options.output.as_ref().is_none_or(|output| output.is_dir());
    let name_changed = uses_sender_name && name != metadata.name;
    Ok(Preview {
        metadata,
        expires_at: info.expires_at,
        destination,
        name_changed,
    })
}

/// Claims the file, then downloads and decrypts it to `destination`.
///
/// The temporary file is created before the claim, so an unwritable
/// directory is found while the link still works. With
/// [`Destination::Stdout`], each record is written once it authenticated. If
/// a later record fails, the bytes already written are a true prefix of the
/// file, and the command still fails. A failure or Ctrl-C after the claim
/// also asks the server to delete the ciphertext, which nobody can download
/// any more.
///
/// # Errors
///
/// The server's errors, network errors, [`Error::DecryptionFailed`] for
/// content that does not authenticate, and [`Error::WriteOutput`]. Errors
/// after the claim come wrapped in [`Error::AfterClaim`], except
/// [`Error::OutputAppeared`]. [`Error::OutputNotDirectory`] and
/// [`Error::CreateOutput`] come before the claim.
pub fn download(
    api: &Api,
    link: &Link,
    destination: Destination,
    force: bool,
    progress: &ProgressBar,
) -> Result<Downloaded, Error> {
    let claim_token = link.secret.claim_token().to_base64();

    let size = match &destination {
        Destination::Stdout => {
            let claimed = claim(api, link, progress)?;
            let _note = LinkUsedNote::set();
            let deletion = arm_delete_claimed(api, link);
            let stdout = io::stdout();
            let mut sink = stdout.lock();
            let output = Path::new("-");
            let size = fetch_and_decrypt(api, link, &claimed, &mut sink, output, progress)
                .map_err(Error::after_claim)?;
            sink.flush()
                .map_err(|source| Error::after_claim(write_error(output, source)))?;
            deletion.disarm();
            size
        }
        Destination::File(path) => {
            let temp = create_temp_file(path)?;
            let temp_path = temp.path().to_owned();
            let cleanup = CleanupGuard::arm(move || {
                // Ctrl-C exits without running destructors; remove it here.
                let _ = fs::remove_file(&temp_path);
            });

            let claimed = claim(api, link, progress)?;
            let _note = LinkUsedNote::set();
            let deletion = arm_delete_claimed(api, link);
            let mut sink = BufWriter::new(temp.as_file());
            let size = fetch_and_decrypt(api, link, &claimed, &mut sink, path, progress)
                .map_err(Error::after_claim)?;
            sink.flush()
                .map_err(|source| Error::after_claim(write_error(path, source)))?;
            drop(sink);
            temp.as_file()
                .sync_all()
                .map_err(|source| Error::after_claim(write_error(path, source)))?;

            // Past this point the temporary file is renamed, deliberately
            // kept, or already removed by `NamedTempFile`.
            let moved = move_into_place(temp, path, force);
            cleanup.disarm();
            moved.map_err(Error::after_claim)?;
            deletion.disarm();
            size
        }
    };
    progress.finish_and_clear();

    let confirmed = api.confirm(link.id.as_str(), &claim_token).is_ok();
    Ok(Downloaded {
        destination,
        size,
        confirmed,
    })
}

/// Resolves `--output` against the sender's (sanitized) file name and checks
/// that nothing would be overwritten without `force`.
fn choose_destination(options: &DownloadOptions, safe_name: &str) -> Result<Destination, Error> {
    let path = match &options.output {
        Some(output) if output.as_os_str() == "-" => return Ok(Destination::Stdout),
        Some(output) if output.is_dir() => output.join(safe_name),
        // "newdir/" or "newdir/.." names a directory, which is missing here.
        // Taken as a file path, "newdir/" would only fail at the rename,
        // after the claim.
        Some(output) if names_directory(output) => {
            return Err(Error::OutputNotDirectory {
                path: output.clone(),
            });
        }
        Some(output) => output.clone(),
        None => PathBuf::from(safe_name),
    };

    // symlink_metadata also detects a dangling symbolic link.
    let exists = fs::symlink_metadata(&path).is_ok();
    if exists && (!options.force || path.is_dir()) {
        return Err(Error::OutputExists { path });
    }
    Ok(Destination::File(path))
}

/// Returns true if `path` can only name a directory: it ends with a path
/// separator, or its last component is `.` or `..`.
fn names_directory(path: &Path) -> bool {
    let ends_with_separator = path
        .as_os_str()
        .as_encoded_bytes()
        .last()
        .is_some_and(|&byte| std::path::is_separator(char::from(byte)));
    ends_with_separator || path.file_name().is_none()
}

/// Creates the temporary file in the output's directory, so the final
/// rename stays on one file system. Only the owner can read it.
fn create_temp_file(path: &Path) -> Result<NamedTempFile, Error> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !directory.is_dir() {
        return Err(Error::OutputNotDirectory {
            path: directory.to_owned(),
        });
    }
    tempfile::Builder::new()
        .prefix(".safebox-")
        .suffix(".part")
        .tempfile_in(directory)
        .map_err(|source| Error::CreateOutput {
            path: path.to_owned(),
            // Only the kind, because the full message names the temporary
            // file, which means nothing to the user.
            source: io::Error::from(source.kind()),
        })
}

/// Number of times a claim is sent again after its response was lost.
pub const CLAIM_RETRIES: u32 = 3;

/// Pause before a claim is sent again.
const CLAIM_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Claims the file. A claim whose response never arrived (a network error,
/// a timeout, a server error) may have succeeded on the server, so it is
/// sent again with the same [`ClaimAttempt`], which the server recognizes.
fn claim(api: &Api, link: &Link, progress: &ProgressBar) -> Result<ClaimResponse, Error> {
    let claim_token = link.secret.claim_token().to_base64();
    let attempt = ClaimAttempt::generate().to_base64();
    let mut retries_left = CLAIM_RETRIES;
    loop {
        match api.claim(link.id.as_str(), &claim_token, &attempt) {
            Err(error) if retries_left > 0 && response_may_be_lost(&error) => {
                retries_left -= 1;
                progress.suspend(|| {
                    eprintln!("The claim request failed ({error}); sending it again.");
                });
                thread::sleep(CLAIM_RETRY_DELAY);
            }
            Err(error) if response_may_be_lost(&error) => {
                progress.suspend(|| {
                    eprintln!(
                        "The server may have accepted the claim without its response arriving; \
                         then this link is used up."
                    );
                });
                return Err(error);
            }
            result => return result,
        }
    }
}

/// Tells whether the server may have handled a request whose response
/// reported `error`.
fn response_may_be_lost(error: &Error) -> bool {
    match error {
        Error::Network { .. } | Error::Timeout { .. } | Error::Connect { .. } => true,
        Error::Server { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Arms the deletion of a claimed file's ciphertext, for a failure or
/// Ctrl-C before the download is complete. The link is used up and only this
/// process holds the download URL, so nobody can read that ciphertext any
/// more. Deleting it at once spares it the server's grace period.
fn arm_delete_claimed(api: &Api, link: &Link) -> CleanupGuard {
    let api = api.clone();
    let id = link.id.as_str().to_owned();
    let claim_token = link.secret.claim_token().to_base64();
    CleanupGuard::arm(move || match api.confirm(&id, &claim_token) {
        Ok(()) => eprintln!("The encrypted file was deleted from the server."),
        Err(error) => eprintln!(
            "warning: could not delete the encrypted file from the server, which deletes it \
             by itself after a grace period: {error}"
        ),
    })
}

/// Makes Ctrl-C report that the link was used, from the claim until the
/// download ends.
struct LinkUsedNote;

impl LinkUsedNote {
    fn set() -> LinkUsedNote {
        crate::interrupt::set_interrupt_note(Some(LINK_USED_HINT));
        LinkUsedNote
    }
}

impl Drop for LinkUsedNote {
    fn drop(&mut self) {
        crate::interrupt::set_interrupt_note(None);
    }
}

/// Renames the complete, synced temporary file to `path`.
fn move_into_place(temp: NamedTempFile, path: &Path, force: bool) -> Result<(), Error> {
    let persisted = if force {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    if let Err(error) = persisted {
        if error.error.kind() != io::ErrorKind::AlreadyExists {
            return Err(write_error(path, error.error));
        }
        // The link is used up, so keep the plaintext under its temporary name.
        let (_, saved) = error
            .file
            .keep()
            .map_err(|kept| write_error(path, kept.error))?;
        return Err(Error::OutputAppeared {
            path: path.to_owned(),
            saved,
        });
    }

    // Make the rename itself durable; failure here loses nothing but
    // crash safety, so it is not reported.
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        && let Ok(directory) = File::open(parent)
    {
        let _ = directory.sync_all();
    }
    Ok(())
}

/// Streams the claimed ciphertext through a [`Decryptor`] into `sink`, which
/// writes to `output`, and returns the plaintext size.
fn fetch_and_decrypt(
    api: &Api,
    link: &Link,
    claimed: &ClaimResponse,
    sink: &mut impl Write,
    output: &Path,
    progress: &ProgressBar,
) -> Result<u64, Error> {
    let host = Url::parse(&claimed.download_url)
        .map(|url| host_of(&url))
        .unwrap_or_else(|_| api.host());
    let mut download =
        ResumingDownload::start(api, &claimed.download_url, &host, claimed.size, progress)?;

    let result = decrypt_stream(
        &link.secret,
        &mut download,
        claimed.size,
        sink,
        progress,
        &host,
    );
    result.map_err(|error| {
        if let Some(failure) = download.take_failure() {
            return failure;
        }
        match error {
            // decrypt_stream does not know the output's name.
            Error::WriteOutput { source, .. } => write_error(output, source),
            error => error,
        }
    })
}

/// Decrypts a ciphertext of `total` bytes from `source` into `sink`, one
/// record at a time, and returns the plaintext size.
///
/// Each record is written only after it authenticated. The last record is
/// found from `total`, and bytes after it are rejected like a failed tag.
pub fn decrypt_stream(
    secret: &LinkSecret,
    mut source: impl Read,
    total: u64,
    sink: &mut impl Write,
    progress: &ProgressBar,
    host: &str,
) -> Result<u64, Error> {
    let read_error = |error: io::Error| Error::Network {
        host: host.to_owned(),
        detail: describe_read_error(error),
    };

    if total < (HEADER_LEN + TAG_LEN) as u64 {
        return Err(Error::DecryptionFailed);
    }
    let mut header = [0u8; HEADER_LEN];
    source.read_exact(&mut header).map_err(read_error)?;
    let mut decryptor = Decryptor::new(secret, &header).map_err(|_| Error::DecryptionFailed)?;
    let layout =
        RecordLayout::new(total, decryptor.header()).map_err(|_| Error::DecryptionFailed)?;
    progress.set_length(layout.plaintext_len());

    let mut record = vec![0u8; decryptor.sealed_record_len()];
    for index in 0..layout.record_count() {
        let range = layout.record_range(index).ok_or(Error::DecryptionFailed)?;
        let length =
            usize::try_from(range.end - range.start).map_err(|_| Error::DecryptionFailed)?;
        let sealed = record.get_mut(..length).ok_or(Error::DecryptionFailed)?;
        source.read_exact(sealed).map_err(read_error)?;

        let plaintext = decryptor
            .decrypt_next(sealed, layout.is_last(index))
            .map_err(|_| Error::DecryptionFailed)?;
        sink.write_all(&plaintext)
            .map_err(|error| write_error(Path::new("-"), error))?;
        progress.inc(plaintext.len() as u64);
    }

    let mut probe = [0u8; 1];
    if source.read(&mut probe).map_err(read_error)? != 0 {
        return Err(Error::DecryptionFailed);
    }
    decryptor.finish().map_err(|_| Error::DecryptionFailed)?;
    Ok(layout.plaintext_len())
}

fn write_error(path: &Path, source: io::Error) -> Error {
    Error::WriteOutput {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use safebox_crypto::{FileId, Header, encrypt_all};

    use super::*;

    fn sample_link() -> String {
        let link = Link::new(FileId::generate(), LinkSecret::generate());
        link.to_url("http://127.0.0.1:9/")
    }

    #[test]
    fn parse_link_full_url() {
        let parsed = parse_link(&sample_link()).expect("link parses");
        assert_eq!(
            parsed.page_url.map(|url| url.to_string()).as_deref(),
            Some("http://127.0.0.1:9/")
        );
    }

    #[test]
    fn parse_link_bare_fragment() {
        let text = sample_link();
        let fragment = text.split('#').nth(1).expect("fragment");
        let parsed = parse_link(fragment).expect("fragment parses");
        assert!(parsed.page_url.is_none());
    }

    #[test]
    fn parse_link_named_errors() {
        let text = sample_link();
        let cases = [
            ("http://127.0.0.1:9/", LinkProblem::MissingFragment),
            (&text[..text.len() - 3], LinkProblem::Truncated),
            (&format!("{text}xyz"), LinkProblem::TooLong),
            (&text.replace('.', "!"), LinkProblem::Malformed),
        ];
        for (input, expected) in cases {
            let result = parse_link(input);
            assert!(
                matches!(result, Err(Error::InvalidLink(problem)) if problem == expected),
                "{input} did not fail with {expected:?}"
            );
        }
    }

    #[test]
    fn parse_link_rejects_other_scheme() {
        let text = sample_link().replace("http://", "file://");
        assert!(matches!(
            parse_link(&text),
            Err(Error::InvalidLink(LinkProblem::NotUrl))
        ));
    }

    fn decrypt(secret: &LinkSecret, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let total = ciphertext.len() as u64;
        decrypt_stream(
            secret,
            ciphertext,
            total,
            &mut out,
            &ProgressBar::hidden(),
            "test",
        )?;
        Ok(out)
    }

    #[test]
    fn decrypt_stream_round_trip() {
        let secret = LinkSecret::generate();
        for length in [0usize, 1, 16, 17, 100] {
            let plaintext: Vec<u8> = (0..length).map(|i| i as u8).collect();
            let header = Header::new(16).expect("valid record size");
            let ciphertext = encrypt_all(&secret, header, &plaintext);
            assert_eq!(decrypt(&secret, &ciphertext).ok(), Some(plaintext));
        }
    }

    #[test]
    fn decrypt_stream_rejects_damage() {
        let secret = LinkSecret::generate();
        let header = Header::new(16).expect("valid record size");
        let ciphertext = encrypt_all(&secret, header, &[7u8; 40]);

        let mut flipped = ciphertext.clone();
        flipped[HEADER_LEN + 3] ^= 1;
        assert!(matches!(
            decrypt(&secret, &flipped),
            Err(Error::DecryptionFailed)
        ));

        // One record dropped, so the new last record lacks the last flag.
        let shortened = ciphertext[..ciphertext.len() - 24].to_vec();
        assert!(matches!(
            decrypt(&secret, &shortened),
            Err(Error::DecryptionFailed)
        ));

        let wrong_key = LinkSecret::generate();
        assert!(matches!(
            decrypt(&wrong_key, &ciphertext),
            Err(Error::DecryptionFailed)
        ));
    }

    #[test]
    fn decrypt_stream_rejects_trailing_data() {
        let secret = LinkSecret::generate();
        let header = Header::new(16).expect("valid record size");
        let mut ciphertext = encrypt_all(&secret, header, &[7u8; 40]);
        let total = ciphertext.len() as u64;
        ciphertext.push(0);

        let mut out = Vec::new();
        let result = decrypt_stream(
            &secret,
            &ciphertext[..],
            total,
            &mut out,
            &ProgressBar::hidden(),
            "test",
        );
        assert!(matches!(result, Err(Error::DecryptionFailed)));
    }

    #[test]
    fn decrypt_stream_reports_early_end() {
        let secret = LinkSecret::generate();
        let header = Header::new(16).expect("valid record size");
        let ciphertext = encrypt_all(&secret, header, &[7u8; 40]);
        let total = ciphertext.len() as u64;

        let mut out = Vec::new();
        let cut = &ciphertext[..ciphertext.len() - 5];
        let result = decrypt_stream(
            &secret,
            cut,
            total,
            &mut out,
            &ProgressBar::hidden(),
            "test",
        );
        assert!(matches!(result, Err(Error::Network { .. })));
    }
}
