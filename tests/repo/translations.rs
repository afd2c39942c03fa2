//! The web client's German catalogue (`facade/assets/app/de.js`) is
//! complete and current: every English string the page uses — `t("…")`,
//! `N("…")` and both forms of `plural(n, "…", "…")` in its modules, the
//! text of each `data-i18n` element, the markup of each `data-i18n-html`
//! one and the attributes named by `data-i18n-attr` in `index.html` — has
//! a translation, the catalogue holds nothing else, and each translation
//! keeps the original's `{placeholders}`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn app() -> PathBuf {
    crate::root().join("facade/assets/app")
}

/// The modules with words in them (the vendored libraries have none of ours).
const MODULES: [&str; 6] = [
    "app.js",
    "areas.js",
    "credits.js",
    "files.js",
    "passkeys.js",
    "share_list.js",
];

fn read(name: &str) -> String {
    std::fs::read_to_string(app().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The JSON string literal that starts at `source[at..]` (a `"`), decoded,
/// and the index just past it.
fn string_at(source: &str, at: usize) -> (String, usize) {
    let mut end = at + 1;
    let bytes = source.as_bytes();
    while bytes[end] != b'"' {
        end += if bytes[end] == b'\\' { 2 } else { 1 };
    }
    let literal = &source[at..=end];
    let text = serde_json::from_str(literal).unwrap_or_else(|e| panic!("{literal}: {e}"));
    (text, end + 1)
}

/// The strings passed to `t(`, `N(` and `plural(` in one module.
fn module_strings(source: &str, into: &mut BTreeSet<String>) {
    for (call, count) in [("t(\"", 1), ("N(\"", 1), ("plural(", 2)] {
        for (at, _) in source.match_indices(call) {
            let before = source[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue; // `format(`, `api.t(`: not ours
            }
            let mut from = at + call.len() - usize::from(count == 1);
            for _ in 0..count {
                let quote = from + source[from..].find('"').expect("a string argument");
                let (text, next) = string_at(source, quote);
                into.insert(text);
                from = next;
            }
        }
    }
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of attribute `name` in an opening tag.
fn attribute<'a>(tag: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    let start = tag
        .find(&key)
        .unwrap_or_else(|| panic!("{tag} has no {name}"))
        + key.len();
    &tag[start..start + tag[start..].find('"').expect("closing quote")]
}

/// The strings `index.html` marks for translation.
fn page_strings(html: &str, into: &mut BTreeSet<String>) {
    let mut from = 0;
    while let Some(found) = html[from..].find(" data-i18n") {
        let at = from + found;
        let open = html[..at].rfind('<').expect("inside a tag");
        let close = at + html[at..].find('>').expect("end of the tag");
        let tag = &html[open..close];
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let rest = &html[at + " data-i18n".len()..];
        from = close;
        if rest.starts_with("-attr=\"") {
            for each in attribute(tag, "data-i18n-attr").split(' ') {
                into.insert(attribute(tag, each).to_owned());
            }
            continue;
        }
        let markup = rest.starts_with("-html");
        let end_tag = format!("</{name}>");
        let inner =
            &html[close + 1..close + 1 + html[close + 1..].find(&end_tag).expect("end tag")];
        assert!(
            markup || !inner.contains('<'),
            "<{name}> marked data-i18n holds markup (mark it data-i18n-html, or wrap the words): {inner}"
        );
        assert!(!inner.contains('&'), "no entities in marked text: {inner}");
        into.insert(normalise(inner));
    }
}

fn placeholders(text: &str) -> Vec<&str> {
    let mut found: Vec<&str> = text
        .match_indices('{')
        .filter_map(|(at, _)| text[at..].find('}').map(|end| &text[at..=at + end]))
        .collect();
    found.sort_unstable();
    found
}

#[test]
fn the_german_catalogue_has_every_string_and_nothing_else() {
    let source = read("de.js");
    let body = source
        .split_once("export default ")
        .expect("export default")
        .1
        .trim_end()
        .trim_end_matches(';');
    let german: BTreeMap<String, String> = serde_json::from_str(body).expect("JSON object");

    let mut used = BTreeSet::new();
    for module in MODULES {
        module_strings(&read(module), &mut used);
    }
    page_strings(&read("index.html"), &mut used);
    assert!(used.len() > 200, "only {} strings found", used.len());

    let missing: Vec<_> = used.iter().filter(|k| !german.contains_key(*k)).collect();
    assert!(missing.is_empty(), "not in de.js: {missing:#?}");
    let unused: Vec<_> = german.keys().filter(|k| !used.contains(*k)).collect();
    assert!(unused.is_empty(), "in de.js but not used: {unused:#?}");
    for (english, translation) in &german {
        assert!(
            !translation.trim().is_empty(),
            "{english:?} is untranslated"
        );
        assert_eq!(
            placeholders(english),
            placeholders(translation),
            "{english:?} → {translation:?}"
        );
    }
}
