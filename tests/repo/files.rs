//! Files that would be silently ignored: a Rust file no crate builds (left
//! behind by a move, it goes stale unseen), and a proptest regression file
//! where proptest does not look for it (its saved failing cases are then
//! never run again). proptest reads the cases of `DIR/CRATE/path/x.rs`
//! from `DIR/proptest-regressions/path/x.txt`, where `CRATE` is the
//! nearest folder above the test with a `lib.rs` or `main.rs`.

use crate::root;
use std::path::Path;

/// Data kept for the record, not built: `make_legacy_db.rs` wrote the
/// legacy fixture with release 0.1.0 (see that folder's README).
const NOT_BUILT: &[&str] = &["engine/tests/data/"];

/// Every file below the repository's root, as a path relative to it with
/// `/` separators; build output, git and Node packages left out.
fn files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(name, "target" | ".git" | "node_modules") {
                    walk(&path, root, out);
                }
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), &root(), &mut out);
    out.sort();
    out
}

/// Whether cargo builds `path` as a target of its own: a library, binary,
/// test, bench, example, build script or fuzz target.
fn is_target(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let [.., folder, file] = parts.as_slice() else {
        return path == "build.rs";
    };
    let above = parts.len().checked_sub(3).map(|i| parts[i]);
    *file == "build.rs"
        || (*folder == "src" && matches!(*file, "lib.rs" | "main.rs"))
        || (*folder == "bin" && above == Some("src"))
        || matches!(*folder, "tests" | "benches" | "examples" | "fuzz_targets")
        || (*file == "main.rs" && matches!(above, Some("tests" | "benches" | "examples")))
}

/// Whether the file that would declare `path` as a module does
/// (`mod name;`), or any file names it in a `#[path]`. A module `name` of
/// folder `F` (`F/name.rs` or `F/name/mod.rs`) is declared in `F/mod.rs`,
/// `F/lib.rs`, `F/main.rs`, `F.rs` or a target's root file in `F`.
fn is_declared(path: &str, sources: &[(String, String)]) -> bool {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let (folder, name) = match file.strip_suffix(".rs") {
        Some("mod") => dir.rsplit_once('/').unwrap_or(("", dir)),
        Some(stem) => (dir, stem),
        None => return false,
    };
    let declarers = ["mod.rs", "lib.rs", "main.rs"].map(|f| format!("{folder}/{f}"));
    let declaration = format!("mod {name};");
    sources.iter().any(|(other, text)| {
        let declarer = declarers.contains(other)
            || *other == format!("{folder}.rs")
            || (is_target(other) && other.rsplit_once('/').is_some_and(|(d, _)| d == folder));
        (declarer && text.contains(&declaration)) || path_attributes(other, text).any(|p| p == path)
    })
}

/// The files `#[path = "…"]` attributes in `file` name, relative to the
/// repository's root.
fn path_attributes<'a>(file: &'a str, text: &'a str) -> impl Iterator<Item = String> + 'a {
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("#[path = \""))
        .filter_map(|rest| rest.split_once('"').map(|(target, _)| target))
        .map(move |target| {
            let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
            for part in target.split('/') {
                match part {
                    ".." => {
                        parts.pop();
                    }
                    "." | "" => {}
                    part => parts.push(part),
                }
            }
            parts.join("/")
        })
}

#[test]
fn every_rust_file_is_built() {
    let sources: Vec<(String, String)> = files()
        .into_iter()
        .filter(|f| f.ends_with(".rs"))
        .map(|f| {
            let text = std::fs::read_to_string(root().join(&f)).expect("read");
            (f, text)
        })
        .collect();
    let unbuilt: Vec<&str> = sources
        .iter()
        .map(|(f, _)| f.as_str())
        .filter(|f| !NOT_BUILT.iter().any(|kept| f.starts_with(kept)))
        .filter(|f| !is_target(f) && !is_declared(f, &sources))
        .collect();
    assert!(
        unbuilt.is_empty(),
        "no crate builds these files (remove them, or declare them as modules): {unbuilt:?}"
    );
}

#[test]
fn every_proptest_regression_file_is_where_proptest_reads_it() {
    let all = files();
    let mut misplaced = Vec::new();
    for file in all.iter().filter(|f| f.contains("proptest-regressions")) {
        let Some((base, case)) = file.split_once("proptest-regressions/") else {
            misplaced.push(file.clone()); // `x.proptest-regressions` beside a source
            continue;
        };
        let Some(stem) = case.strip_suffix(".txt") else {
            misplaced.push(file.clone());
            continue;
        };
        // The crate folders under `base`: `src`, or a test binary's folder.
        let read = all.iter().any(|source| {
            source
                .strip_prefix(base)
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(crate_dir, rest)| {
                    rest == format!("{stem}.rs")
                        && ["lib.rs", "main.rs"].iter().any(|root_file| {
                            all.contains(&format!("{base}{crate_dir}/{root_file}"))
                        })
                        && std::fs::read_to_string(root().join(source))
                            .is_ok_and(|text| text.contains("proptest!"))
                })
        });
        if !read {
            misplaced.push(file.clone());
        }
    }
    assert!(
        misplaced.is_empty(),
        "proptest never reads these (move each to DIR/proptest-regressions/PATH.txt for the \
         test at DIR/src/PATH.rs, or DIR/tests/NAME/PATH.rs): {misplaced:?}"
    );
}

#[test]
fn the_checks_tell_targets_modules_and_strays_apart() {
    for target in [
        "src/main.rs",
        "engine/src/lib.rs",
        "engine/tests/engine/main.rs",
        "tests/serve.rs",
        "engine/benches/engine.rs",
        "examples/hello_world.rs",
        "fuzz/fuzz_targets/envelope.rs",
        "src/bin/tool.rs",
        "build.rs",
    ] {
        assert!(is_target(target), "{target}");
    }
    let sources = vec![
        (
            "engine/src/lib.rs".to_owned(),
            "pub mod store;\nmod ids;".to_owned(),
        ),
        (
            "facade/benches/json.rs".to_owned(),
            "#[path = \"../src/wire/fast_json.rs\"]\nmod fast_json;".to_owned(),
        ),
        ("engine/src/store/mod.rs".to_owned(), "mod redb;".to_owned()),
        (
            "engine/tests/engine/main.rs".to_owned(),
            "mod model;".to_owned(),
        ),
        ("benches/engine.rs".to_owned(), "mod common;".to_owned()),
    ];
    for module in [
        "engine/src/ids.rs",
        "engine/src/store/mod.rs",
        "engine/src/store/redb.rs",
        "engine/tests/engine/model.rs",
        "facade/src/wire/fast_json.rs",
        "benches/common/mod.rs",
    ] {
        assert!(
            !is_target(module) && is_declared(module, &sources),
            "{module}"
        );
    }
    for stray in ["engine/tests/common/mod.rs", "engine/src/store/journal.rs"] {
        assert!(
            !is_target(stray) && !is_declared(stray, &sources),
            "{stray}"
        );
    }
}
