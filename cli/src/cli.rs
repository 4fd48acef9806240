//! Command-line arguments of `safebox`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use safebox_cli::api::DEFAULT_SERVER;

/// Share a file through a self-destructing, end-to-end encrypted link.
///
/// The file is encrypted on this machine; the server stores only ciphertext
/// and never receives the key, which travels in the link's '#' part. A link
/// works for one download, then the file is deleted.
#[derive(Debug, Parser)]
#[command(name = "safebox", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    the local file cannot be read or written
  2    invalid argument, link or input (a wrong --server, a file too
       large for the server)
  3    file not found (a wrong link, or a file removed after its
       expiry)
  4    already downloaded, or expired
  5    decryption failed
  6    network error
  7    server error
  8    the output file exists
  130  interrupted";

/// The `safebox` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt and upload a file, then print its link as the last line of
    /// standard output.
    Upload(UploadArgs),
    /// Download and decrypt the file behind a link; the link then stops
    /// working.
    Download(DownloadArgs),
}

/// Arguments of `safebox upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The file to upload.
    pub file: PathBuf,

    /// Lifetime of the link if the file is not downloaded: a number
    /// followed by s (seconds), m (minutes), h (hours) or d (days), from 60s
    /// to 24h.
    // Takes "-5m" as a value, so the expiry parser can reject it by name.
    #[arg(
        long,
        short,
        value_name = "DURATION",
        default_value = "1d",
        allow_hyphen_values = true
    )]
    pub expires: String,

    /// Base URL of the Safebox server's API.
    #[arg(long, env = "SAFEBOX_SERVER", value_name = "URL", default_value = DEFAULT_SERVER)]
    pub server: String,

    /// Print nothing but the link, errors and warnings: no progress bar, no
    /// details.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `safebox download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The link, either the whole URL or only the part after '#'. Quote it
    /// in the shell.
    // A bare fragment can start with '-', which is a base64url character.
    #[arg(allow_hyphen_values = true)]
    pub link: String,

    /// Output: a file path, an existing directory (the
    /// sender's file name is used inside it) or '-' for standard output.
    /// A file appears only once the whole download is authenticated. With
    /// '-', each record is written once it is authenticated, so a failed
    /// download leaves a true but incomplete prefix and a non-zero exit
    /// code. [default: the sender's file name, made safe, in the current
    /// directory]
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Overwrite the output file if it exists.
    #[arg(long, short)]
    pub force: bool,

    /// Base URL of the Safebox server's API. [default: read from the link's
    /// site (its config.json), else the link's origin; for a bare '#' part,
    /// SAFEBOX_SERVER or http://127.0.0.1:8080]
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,

    /// Print nothing but errors and warnings: no progress bar, no details.
    #[arg(long, short)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_valid() {
        Cli::command().debug_assert();
    }

    fn parse_download(args: &[&str]) -> Option<DownloadArgs> {
        let cli = Cli::try_parse_from([&["safebox", "download"], args].concat()).ok()?;
        match cli.command {
            Command::Download(download) => Some(download),
            Command::Upload(_) => None,
        }
    }

    #[test]
    fn download_link_may_start_with_hyphen() {
        let fragment = "-QAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBA";
        for args in [
            vec![fragment, "--server", "http://127.0.0.1:1"],
            vec!["--server", "http://127.0.0.1:1", fragment],
            vec!["-o", "out", fragment, "-f"],
        ] {
            let parsed = parse_download(&args);
            assert_eq!(
                parsed.as_ref().map(|d| d.link.as_str()),
                Some(fragment),
                "{args:?}"
            );
        }
    }

    #[test]
    fn download_output_help_wording() {
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("download")
            .map(|download| download.render_long_help().to_string())
            .unwrap_or_default();
        assert!(help.contains("whole download is authenticated"), "{help}");
        assert!(!help.contains("KiB"), "{help}");
    }

    #[test]
    fn download_options_after_link() {
        let parsed = parse_download(&["http://h/#x.y", "-o", "out", "--force", "-q"]);
        let parsed = parsed.expect("arguments parse");
        assert_eq!(parsed.output.as_deref(), Some(std::path::Path::new("out")));
        assert!(parsed.force);
        assert!(parsed.quiet);
    }
}
