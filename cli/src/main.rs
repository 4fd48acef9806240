//! `safebox`: share a file through a self-destructing, end-to-end encrypted
//! link, from the command line.

mod cli;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use safebox_cli::api::{Api, DEFAULT_SERVER};
use safebox_cli::download::{self, Destination, DownloadOptions};
use safebox_cli::error::{Error, format_time, printable};
use safebox_cli::{expiry, interrupt, progress, upload};

use crate::cli::{Cli, Command, DownloadArgs, UploadArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = interrupt::install_handler() {
        eprintln!("warning: Ctrl-C will not clean up partial work: {error}");
    }

    let result = match cli.command {
        Command::Upload(args) => run_upload(args),
        Command::Download(args) => run_download(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(hint) = error.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(error.exit_code())
        }
    }
}

fn run_upload(args: UploadArgs) -> Result<(), Error> {
    let expires_in = expiry::parse_expiry(&args.expires)?;
    let api = Api::new(&args.server)?;

    let progress = progress::bytes_bar(0, "Uploading", args.quiet);
    let uploaded = upload::upload_file(&api, &args.file, expires_in, &progress)?;

    // The link is the command's only output on stdout, so scripts can take
    // the last line.
    let mut stdout = io::stdout().lock();
    let written = writeln!(stdout, "{}", uploaded.link.as_str()).and_then(|()| stdout.flush());
    if let Err(source) = written {
        // A file whose link was lost can never be downloaded, so it is deleted.
        let deleted = uploaded.delete().is_ok();
        return Err(Error::LinkNotWritten { source, deleted });
    }

    if !args.quiet {
        eprintln!(
            "Uploaded {}. The link works for one download and expires at {}.",
            printable(&args.file.display().to_string()),
            format_time(uploaded.expires_at)
        );
    }
    uploaded.keep();
    Ok(())
}

fn run_download(args: DownloadArgs) -> Result<(), Error> {
    let parsed = download::parse_link(&args.link)?;
    let api_url = match (&args.server, &parsed.page_url) {
        (Some(server), _) => server.clone(),
        (None, Some(page_url)) => download::api_url_for_page(page_url),
        (None, None) => {
            std::env::var("SAFEBOX_SERVER").unwrap_or_else(|_| DEFAULT_SERVER.to_owned())
        }
    };
    let api = Api::new(&api_url)?;

    let options = DownloadOptions {
        output: args.output,
        force: args.force,
    };
    let preview = download::preview(&api, &parsed.link, &options)?;
    if !args.quiet {
        eprintln!(
            "Downloading {:?} ({}, {}); the link expires at {}.",
            printable(&preview.metadata.name),
            byte_count(preview.metadata.size),
            printable(&preview.metadata.mime),
            format_time(preview.expires_at)
        );
    }

    let progress = progress::bytes_bar(preview.metadata.size, "Downloading", args.quiet);
    let downloaded = download::download(
        &api,
        &parsed.link,
        preview.destination,
        args.force,
        &progress,
    )?;

    if !downloaded.confirmed {
        eprintln!(
            "warning: the server did not confirm the deletion of the ciphertext; \
             it deletes it by itself after a grace period"
        );
    }
    if !args.quiet
        && let Destination::File(path) = &downloaded.destination
    {
        eprintln!(
            "Saved {} ({}).",
            printable(&path.display().to_string()),
            byte_count(downloaded.size)
        );
        if preview.name_changed {
            eprintln!(
                "The file was saved as {} because the sender's name {:?} is not safe to use \
                 as a file name here.",
                path.display(),
                printable(&preview.metadata.name)
            );
        }
    }
    Ok(())
}

/// Formats a size as "1 byte" or "N bytes".
fn byte_count(size: u64) -> String {
    if size == 1 {
        "1 byte".to_owned()
    } else {
        format!("{size} bytes")
    }
}
