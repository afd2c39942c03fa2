//! Client-chosen strings as they may appear in a log line, in either log
//! format: quoted, so a value with spaces cannot pass for more fields
//! (`username="eve client=1.2.3.4"` stays one field), with control
//! characters, quotes, backslashes and the invisible characters that can
//! disguise text (bidirectional overrides and isolates, zero-width
//! characters, line and paragraph separators) escaped, and cut short.

/// Longest client-chosen string logged, in characters.
const LOGGED_CHARS: usize = 64;

/// `text` as it may appear in a log: in double quotes, escaped, at most 64
/// characters, and `…` where it was cut.
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(LOGGED_CHARS + 8) + 2);
    out.push('"');
    for (n, c) in text.chars().enumerate() {
        if n == LOGGED_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() || disguises(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters that change how the text around them looks without showing
/// themselves: bidirectional controls, zero-width characters, separators.
fn disguises(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn client_strings_cannot_forge_lines_fields_or_flood_the_log() {
        assert_eq!(escaped("alice"), "\"alice\"");
        assert_eq!(
            escaped("eve\nINFO login succeeded"),
            "\"eve\\u{a}INFO login succeeded\""
        );
        assert_eq!(escaped("eve client=1.2.3.4"), "\"eve client=1.2.3.4\"");
        assert_eq!(escaped("a\"b\\c\u{1b}[31m"), "\"a\\\"b\\\\c\\u{1b}[31m\"");
        // Right-to-left override and zero-width space are shown, not applied.
        assert_eq!(
            escaped("ab\u{202E}cd\u{200B}"),
            "\"ab\\u{202e}cd\\u{200b}\""
        );
        let long = "x".repeat(10_000);
        assert_eq!(escaped(&long).chars().count(), 67);
    }
}
