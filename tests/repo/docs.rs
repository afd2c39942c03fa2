//! The README and `docs/` stay true: every relative link resolves (to a
//! file, and to a heading when it names one), and the layer map in
//! `docs/architecture.md` names every folder the architecture test
//! declares.

use crate::root;
use std::path::PathBuf;

/// The README and every page under `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

/// The targets of `[text](target)` and `![alt](target)` links outside
/// code blocks and inline code.
fn links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Drop inline code spans, then read `](…)`.
        let mut text = String::new();
        for (n, part) in line.split('`').enumerate() {
            if n % 2 == 0 {
                text.push_str(part);
            }
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let Some(end) = tail.find(')') else { break };
            out.push(tail[..end].trim().to_owned());
            rest = &tail[end..];
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, and
/// everything but letters, digits, hyphens and underscores dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of `markdown`'s headings.
fn anchors(markdown: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.push(slug(line.trim_start_matches('#')));
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("read page");
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = match link.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (link.as_str(), None),
            };
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().expect("folder").join(file)
            };
            let name = page
                .strip_prefix(root())
                .unwrap_or(&page)
                .display()
                .to_string();
            if !target.exists() {
                broken.push(format!("{name}: {link} (no such file)"));
                continue;
            }
            if let Some(anchor) = anchor {
                let body = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&body).iter().any(|a| a == anchor) {
                    broken.push(format!("{name}: {link} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_is_a_landing_page() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; move detail to docs/"
    );
    for page in pages().iter().skip(1) {
        let name = page.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(
            readme.contains(&format!("(docs/{name})")),
            "README.md does not link docs/{name}"
        );
    }
}

#[test]
fn the_layer_map_names_every_declared_layer() {
    let map = std::fs::read_to_string(root().join("docs/architecture.md")).expect("map");
    let mut missing = Vec::new();
    for krate in crate::architecture::CRATES {
        for module in krate.layers.iter().flat_map(|l| l.iter()) {
            let folder = format!("{module}/");
            let file = format!("{module}.rs");
            if !map.contains(&folder) && !map.contains(&file) {
                missing.push(format!("{}: {module}", krate.src));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md does not name: {}",
        missing.join(", ")
    );
}

#[test]
fn the_link_reader_sees_links_and_skips_code() {
    let md = "see [a](x.md) and ![b](img.png#top) `[c](y.md)`\n```\n[d](z.md)\n```\n";
    assert_eq!(links(md), ["x.md", "img.png#top"]);
    assert_eq!(slug(" The HTTP API (v1), `curl`"), "the-http-api-v1-curl");
}
