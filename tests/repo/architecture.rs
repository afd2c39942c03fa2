//! The folders are the architecture: in every crate, modules import one
//! way only. Each crate declares its layers, top to bottom; a module may
//! use what is in its own layer or below, never above, and no chain of
//! imports between modules (files) comes back to where it started.
//!
//! What counts as an import: every `crate::…` path (in `use` lines,
//! grouped or not, and inline), and `super::…`/`self::…` paths, resolved
//! to the module they name. A module naming its own ancestor (a file
//! using its folder's `mod.rs`) is a child using its parent, not an
//! import between modules. Test code (`#[cfg(test)] mod … { }` and
//! `tests.rs` files) is left out.

use crate::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A crate's source folder and its layers, top first.
pub(crate) struct Crate {
    pub(crate) src: &'static str,
    pub(crate) layers: &'static [&'static [&'static str]],
}

pub(crate) const CRATES: &[Crate] = &[
    Crate {
        src: "engine/src",
        layers: &[
            &["handle"],
            &["write"],
            &["domain"],
            &["keyring"],
            &["schema"],
            &["model"],
            &["store"],
            &["crypto"],
            &["error"],
            &["scopes"],
            &["ids"],
            &["clock"],
        ],
    },
    Crate {
        src: "facade/src",
        layers: &[
            &["spec"],
            &[
                "accounts", "admin", "credits", "e2e", "events", "files", "health", "messages",
                "oidc", "pages", "passkeys", "reaper", "shares",
            ],
            &["http"],
            &["fanout"],
            &["wire"],
            &["tags"],
        ],
    },
    Crate {
        src: "src",
        layers: &[
            &["cli", "commands", "healthcheck"],
            &["serve"],
            &["ops"],
            &["datadir"],
        ],
    },
    Crate {
        src: "testkit/src",
        layers: &[
            &["binary", "store"],
            &[
                "http", "http1", "raw", "browser", "nats", "oidc", "postgres", "memory", "sse",
                "process",
            ],
            &["keys", "threads"],
        ],
    },
];

/// Every module of the crate at `src` (`a::b` for `a/b.rs` or
/// `a/b/mod.rs`) with its source, test code removed.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".rs") || name == "tests.rs" {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            out.insert(parts.join("::"), strip_tests(&text));
        }
    }
    out
}

/// `text` without its `#[cfg(test)] mod NAME { … }` blocks.
fn strip_tests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_mod = trimmed.starts_with("mod ") && {
            let header = trimmed.split('{').next().unwrap_or("");
            !header.contains(';')
        };
        out.push_str(&rest[..at]);
        if !is_mod {
            out.push_str("#[cfg(test)]");
            rest = after;
            continue;
        }
        let open = at
            + "#[cfg(test)]".len()
            + (after.len() - trimmed.len())
            + trimmed.find('{').unwrap_or(0);
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The paths `text` names from its crate: `crate::…` anywhere, and
/// `super::…`/`self::…` in `use` lines, as absolute module paths (`me` is
/// the module's own path). Grouped imports are expanded.
fn paths(me: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    // `use` items, whole (they may span lines), expanded.
    for item in text.split("use ").skip(1) {
        let Some(end) = item.find(';') else { continue };
        let tree = without_renames(&item[..end]);
        let base = if let Some(rest) = tree.strip_prefix("crate::") {
            Some((String::new(), rest.to_owned()))
        } else if let Some(rest) = tree.strip_prefix("super::") {
            // The parent module, whether this one is a file or a folder.
            let mut parent: Vec<&str> = me.split("::").collect();
            parent.pop();
            Some((parent.join("::"), rest.to_owned()))
        } else {
            tree.strip_prefix("self::")
                .map(|rest| (me.to_owned(), rest.to_owned()))
        };
        if let Some((base, rest)) = base {
            expand(&base, &rest, &mut found);
        }
    }
    // Inline `crate::a::b` paths.
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        let path: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        found.push(path.trim_end_matches(':').to_owned());
        rest = tail;
    }
    found
}

/// A use tree without whitespace and without its renames (`a as b`).
fn without_renames(tree: &str) -> String {
    let mut out = String::new();
    let mut tokens = tree.split_whitespace();
    while let Some(token) = tokens.next() {
        if token == "as" {
            // The new name, keeping the punctuation glued to it.
            if let Some(name) = tokens.next() {
                out.extend(
                    name.chars()
                        .skip_while(|c| c.is_alphanumeric() || *c == '_'),
                );
            }
        } else {
            out.push_str(token);
        }
    }
    out
}

/// Expands a use tree (`a::{b, c::{d, e}}`) under `base` into paths.
fn expand(base: &str, tree: &str, out: &mut Vec<String>) {
    let join = |a: &str, b: &str| match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}::{b}"),
    };
    match tree.find('{') {
        None => {
            out.push(join(base, tree.trim_end_matches("::self")));
        }
        Some(open) => {
            let prefix = tree[..open].trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let base = join(base, prefix);
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand_one(&base, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand_one(&base, &inner[start..], out);
        }
    }
}

fn expand_one(base: &str, part: &str, out: &mut Vec<String>) {
    let part = part.trim();
    if part.is_empty() {
        return;
    }
    if part == "self" {
        out.push(base.to_owned());
    } else {
        expand(base, part, out);
    }
}

/// The module a path names: its longest prefix that is a module.
fn module_of<'a>(path: &str, modules: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len()).rev().find_map(|n| {
        let candidate = segments[..n].join("::");
        modules.get_key_value(&candidate).map(|(k, _)| k.as_str())
    })
}

fn is_ancestor(ancestor: &str, of: &str) -> bool {
    of.starts_with(ancestor) && of[ancestor.len()..].starts_with("::")
}

/// Module → the modules it imports (children naming their ancestors left
/// out).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut edges = BTreeMap::new();
    for (me, text) in &modules {
        let mut targets = BTreeSet::new();
        for path in paths(me, text) {
            if let Some(target) = module_of(&path, &modules)
                && target != me
                && !is_ancestor(target, me)
            {
                targets.insert(target.to_owned());
            }
        }
        edges.insert(me.clone(), targets);
    }
    edges
}

/// Strongly connected groups of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        let targets: Vec<&'a str> = s.edges[v].iter().map(String::as_str).collect();
        for w in targets {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                group.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.found.push(group);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn no_import_runs_back_up_a_layer() {
    let mut problems = Vec::new();
    for krate in CRATES {
        let src = root().join(krate.src);
        let layer_of = |m: &str| krate.layers.iter().position(|l| l.contains(&top(m)));
        for (from, targets) in graph(&src) {
            let Some(from_layer) = layer_of(&from) else {
                problems.push(format!(
                    "{}: module {} is in no declared layer",
                    krate.src,
                    top(&from)
                ));
                continue;
            };
            for to in targets {
                match layer_of(&to) {
                    None => problems.push(format!(
                        "{}: module {} is in no declared layer",
                        krate.src,
                        top(&to)
                    )),
                    Some(to_layer) if to_layer < from_layer => {
                        problems.push(format!(
                            "{}: {from} imports {to}, a layer above it",
                            krate.src
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_module_imports_itself_through_others() {
    let mut found = Vec::new();
    for krate in CRATES {
        let edges = graph(&root().join(krate.src));
        for group in cycles(&edges) {
            let ties: Vec<String> = group
                .iter()
                .flat_map(|a| {
                    edges[a]
                        .iter()
                        .filter(|b| group.contains(b))
                        .map(move |b| format!("{a} -> {b}"))
                })
                .collect();
            found.push(format!("{}: {}", krate.src, ties.join(", ")));
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

/// The checker sees what it must: a grouped import, a `super::` path and an
/// inline path each make an edge, and a circle is found.
#[test]
fn the_checker_finds_imports_and_circles() {
    let mut out = Vec::new();
    expand(
        "",
        &without_renames("a::{b::{C, d}, e as f, self}"),
        &mut out,
    );
    assert_eq!(out, ["a::b::C", "a::b::d", "a::e", "a"]);
    let found = paths("x::y", "use super::z::Q;\nfn f() { crate::w::g(); }");
    assert!(found.contains(&"x::z::Q".to_owned()), "{found:?}");
    assert!(found.contains(&"w::g".to_owned()), "{found:?}");
    let tests = strip_tests("a\n#[cfg(test)]\nmod tests {\n use crate::q; { }\n}\nb");
    assert_eq!(tests.trim(), "a\n\nb");
    let mut edges = BTreeMap::new();
    edges.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    edges.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    edges.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(cycles(&edges), [vec!["a".to_owned(), "b".to_owned()]]);
}
