//! A progress bar with percentage, speed and time left.

use yew::prelude::*;

use crate::format;
use crate::state::{Phase, Progress};

/// Properties of [`ProgressBar`].
#[derive(Properties, PartialEq)]
pub struct ProgressBarProps {
    /// Progress to show, or `None` before the first report.
    pub progress: Option<Progress>,
}

/// Renders a `<progress>` element and a line such as
/// "Uploading: 42% · 3.1 MB/s · about 12 s left".
#[function_component(ProgressBar)]
pub fn progress_bar(props: &ProgressBarProps) -> Html {
    let Some(progress) = &props.progress else {
        return html! {
            <div class="progress">
                <progress data-testid="progress" aria-label="Preparing"></progress>
                <p data-testid="progress-text" class="progress-text" aria-live="polite">{ "Preparing…" }</p>
            </div>
        };
    };

    let label = match progress.phase {
        Phase::Encrypting => "Encrypting",
        Phase::Uploading => "Uploading",
        Phase::Downloading => "Downloading and decrypting",
    };
    let percent = (progress.fraction() * 100.0).floor();

    let mut text = format!("{label}: {percent:.0}%");
    if let Some(speed) = progress.bytes_per_second() {
        text.push_str(&format!(" · {}", format::speed(speed)));
    }
    if let Some(seconds) = progress
        .seconds_left()
        .filter(|_| progress.done < progress.total)
    {
        text.push_str(&format!(" · about {} left", format::duration(seconds)));
    }

    html! {
        <div class="progress">
            <progress
                data-testid="progress"
                aria-label={label}
                max="100"
                value={format!("{:.1}", progress.fraction() * 100.0)}
            ></progress>
            <p data-testid="progress-text" class="progress-text" aria-live="polite">{ text }</p>
        </div>
    }
}
