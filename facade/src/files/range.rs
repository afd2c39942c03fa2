//! The HTTP parts of serving a file: which bytes a `Range` header asks
//! for (one range; anything else is answered whole, as RFC 9110 allows),
//! and the `Content-Disposition` that names the download.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What a request asks of a file of `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// The whole file (no `Range`, or one this server does not serve
    /// partially: several ranges, other units, bad syntax).
    Whole,
    /// Bytes `start..end` (end exclusive, within the file).
    Part { start: u64, end: u64 },
    /// A single byte range that lies wholly past the end: 416.
    Unsatisfiable,
}

/// Reads a `Range` header value against a file of `size` bytes.
pub(crate) fn wanted(range: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part {
                    start: size.saturating_sub(n),
                    end: size,
                }
            }
        }
        // bytes=A- and bytes=A-B.
        (false, Some(start), last_given) if last_given.is_some() || last.trim().is_empty() => {
            if last_given.is_some_and(|b| b < start) {
                return Wanted::Whole;
            }
            if start >= size {
                return Wanted::Unsatisfiable;
            }
            let end = last_given.map_or(size, |b| b.saturating_add(1).min(size));
            Wanted::Part { start, end }
        }
        _ => Wanted::Whole,
    }
}

/// Characters kept as they are in an RFC 8187 `filename*` value.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="…"; filename*=UTF-8''…` for a (sanitised)
/// name: an ASCII fallback for old clients, the exact name for the rest.
pub(crate) fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, ATTR_CHAR)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_are_served_and_the_rest_answered_whole() {
        let part = |start, end| Wanted::Part { start, end };
        let cases = [
            (None, Wanted::Whole),
            (Some("bytes=0-19"), part(0, 20)),
            (Some("bytes=10-"), part(10, 100)),
            (Some("bytes=-20"), part(80, 100)),
            (Some("bytes=-500"), part(0, 100)),
            (Some("bytes=90-500"), part(90, 100)),
            (Some("bytes=99-99"), part(99, 100)),
            (Some("bytes=100-"), Wanted::Unsatisfiable),
            (Some("bytes=-0"), Wanted::Unsatisfiable),
            (Some("bytes=5-1"), Wanted::Whole),
            (Some("bytes=0-1,5-6"), Wanted::Whole),
            (Some("items=0-1"), Wanted::Whole),
            (Some("bytes=a-b"), Wanted::Whole),
            (Some("bytes=-"), Wanted::Whole),
            (Some("bytes=+1-2"), Wanted::Whole),
            (Some("bytes=18446744073709551615-"), Wanted::Unsatisfiable),
            (Some("bytes=0-18446744073709551615"), part(0, 100)),
        ];
        for (header, expected) in cases {
            assert_eq!(wanted(header, 100), expected, "{header:?}");
        }
        assert_eq!(wanted(Some("bytes=0-"), 0), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-5"), 0), Wanted::Unsatisfiable);
    }

    #[test]
    fn names_are_quoted_safely_and_exactly() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            content_disposition("résumé final.pdf"),
            "attachment; filename=\"r_sum_ final.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf"
        );
        let odd = content_disposition("a;b=c'd");
        assert!(odd.ends_with("filename*=UTF-8''a%3Bb%3Dc%27d"), "{odd}");
    }
}
