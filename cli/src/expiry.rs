//! Parsing of `--expires` durations.

use crate::error::Error;

/// Minimum expiry the server accepts, in seconds.
pub const MIN_EXPIRY_SECONDS: u64 = 60;

/// Maximum expiry the server accepts, in seconds (24 hours).
pub const MAX_EXPIRY_SECONDS: u64 = 86_400;

/// Parses a duration such as `90s`, `5m`, `1h` or `1d` into seconds, and
/// checks it lies between [`MIN_EXPIRY_SECONDS`] and [`MAX_EXPIRY_SECONDS`].
///
/// # Errors
///
/// [`Error::InvalidExpiry`] for a missing number or unit, a number with a
/// fraction, an unknown unit or a duration out of range.
pub fn parse_expiry(value: &str) -> Result<u64, Error> {
    let invalid = |reason: &str| Error::InvalidExpiry {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };

    let trimmed = value.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| invalid("missing unit (s, m, h or d)"))?;
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(invalid("missing number before the unit"));
    }

    if unit.starts_with(['.', ',']) {
        return Err(invalid(
            "the number must be a whole number: use a smaller unit, such as 90m for 1.5h",
        ));
    }

    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(invalid("unknown unit; use s, m, h or d")),
    };
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_seconds))
        .ok_or_else(|| invalid("longer than 24 hours"))?;

    if seconds < MIN_EXPIRY_SECONDS {
        return Err(invalid("shorter than 60 seconds"));
    }
    if seconds > MAX_EXPIRY_SECONDS {
        return Err(invalid("longer than 24 hours"));
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_expiry_units() {
        assert_eq!(parse_expiry("60s").ok(), Some(60));
        assert_eq!(parse_expiry("5m").ok(), Some(300));
        assert_eq!(parse_expiry("1h").ok(), Some(3_600));
        assert_eq!(parse_expiry("24h").ok(), Some(86_400));
        assert_eq!(parse_expiry("1d").ok(), Some(86_400));
    }

    #[test]
    fn parse_expiry_rejects_out_of_range() {
        for value in ["59s", "0m", "25h", "2d", "99999999999999999999d"] {
            assert!(parse_expiry(value).is_err(), "{value} was accepted");
        }
    }

    #[test]
    fn parse_expiry_fraction_needs_whole_number() {
        for value in ["1.5h", "2,5m"] {
            let message = parse_expiry(value)
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default();
            assert!(message.contains("whole number"), "{value}: {message}");
            assert!(!message.contains("unknown unit"), "{value}: {message}");
        }
    }

    #[test]
    fn parse_expiry_rejects_bad_syntax() {
        for value in ["", "10", "h", "1w", "1.5h", "-5m", "5 m", "1hh"] {
            assert!(parse_expiry(value).is_err(), "{value:?} was accepted");
        }
    }
}
