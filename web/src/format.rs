//! Human-readable sizes, durations and local times.

use wasm_bindgen::JsValue;

/// Formats a byte count in decimal units: `512 bytes`, `3.2 MB`, `1.05 GB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return if bytes == 1 {
            "1 byte".to_owned()
        } else {
            format!("{bytes} bytes")
        };
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for candidate in UNITS {
        value /= 1000.0;
        unit = candidate;
        if value < 999.95 {
            break;
        }
    }
    if value < 9.995 {
        format!("{value:.2} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// Formats a speed in bytes per second: `3.2 MB/s`.
pub fn speed(bytes_per_second: f64) -> String {
    format!("{}/s", size(bytes_per_second.max(0.0).round() as u64))
}

/// Formats a rough duration: `5 s`, `3 min 20 s`, `2 h 5 min`.
pub fn duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0).ceil() as u64;
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// Formats a Unix time in the browser's locale and time zone, for example
/// `5 Dec 2026, 14:05`.
pub fn local_time(unix_seconds: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0));
    let options = js_sys::Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "short")] {
        // Reflect.set on a plain object cannot fail.
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    let locale = web_sys::window()
        .and_then(|window| window.navigator().language())
        .unwrap_or_else(|| "en".into());
    String::from(date.to_locale_string(&locale, &options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn size_units() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(1000), "1.00 kB");
        assert_eq!(size(3 * 1024 * 1024 + 12_345), "3.16 MB");
        assert_eq!(size(999_999_999), "1.00 GB");
        assert_eq!(size(4_294_967_296), "4.29 GB");
        assert_eq!(size(123_456_789), "123.5 MB");
    }

    #[wasm_bindgen_test]
    fn duration_ranges() {
        assert_eq!(duration(0.2), "1 s");
        assert_eq!(duration(59.0), "59 s");
        assert_eq!(duration(200.0), "3 min 20 s");
        assert_eq!(duration(7_500.0), "2 h 5 min");
    }
}
