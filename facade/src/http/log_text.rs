//! Client-chosen strings as they may appear in a log line.

/// Longest client-chosen string logged, in characters.
const LOGGED_CHARS: usize = 64;

/// A client-chosen string as it may appear in a log: control characters,
/// quotes and backslashes escaped (no newline can start a forged line),
/// at most 64 characters, and `…` where it was cut.
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(LOGGED_CHARS + 8));
    for (n, c) in text.chars().enumerate() {
        if n == LOGGED_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn client_strings_cannot_forge_lines_or_flood_the_log() {
        assert_eq!(escaped("alice"), "alice");
        assert_eq!(
            escaped("eve\nINFO login succeeded"),
            "eve\\nINFO login succeeded"
        );
        assert_eq!(escaped("a\"b\\c\u{1b}[31m"), "a\\\"b\\\\c\\u{1b}[31m");
        let long = "x".repeat(10_000);
        assert_eq!(escaped(&long).chars().count(), 65);
    }
}
