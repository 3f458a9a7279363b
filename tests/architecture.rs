//! The layering rules of docs/ARCHITECTURE.md, checked against the source: which modules each
//! layer may import, and no import circles between files. A rule broken here fails `cargo test`
//! before it spreads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file as a module path (`src/routes/bookings.rs` → `routes::bookings`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a file without comments, string literals and `#[cfg(test)]` modules at its end
/// (unit tests may reach across layers to set up their data).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut code = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                code.push_str("\"\"");
            }
            _ => code.push(c),
        }
    }
    code
}

/// Every module path a file names, from `use` items (braces expanded) and inline paths, made
/// absolute (`crate::`, `super::`, `self::`).
fn named_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    // `use a::{b, c::{d, e}};` → a::b, a::c::d, a::c::e
    fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head = format!("{prefix}{}", &tree[..open]);
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&head, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&head, &inner[start..], out);
        } else if !tree.is_empty() {
            out.push(format!("{prefix}{tree}"));
        }
    }
    let mut raw = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        let item = &rest[at + 4..];
        let end = item.find(';').unwrap_or(item.len());
        if before.is_none_or(|c| !c.is_alphanumeric() && c != '_') {
            expand("", &item[..end], &mut raw);
        }
        rest = &item[end..];
    }
    for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
        if word.starts_with("crate::") || word.starts_with("super::") {
            raw.push(word.to_owned());
        }
    }
    for path in raw {
        let path = path.split(" as ").next().unwrap_or_default().trim();
        let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let mut absolute: Vec<String> = match segments.first() {
            Some(&"crate") => {
                segments.remove(0);
                Vec::new()
            }
            Some(&"super") | Some(&"self") => {
                let mut base = module.to_vec();
                while let Some(&first) = segments.first() {
                    match first {
                        "super" => {
                            base.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    segments.remove(0);
                }
                base
            }
            _ => continue,
        };
        absolute.extend(segments.iter().map(|s| (*s).to_owned()));
        paths.push(absolute);
    }
    paths
}

struct Tree {
    /// File module → the file modules it imports.
    imports: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
    /// File module → its code.
    code: BTreeMap<Vec<String>, String>,
}

fn read_tree() -> Tree {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files
        .iter()
        .filter(|f| !f.ends_with("main.rs"))
        .map(|f| module_of(&src, f))
        .collect();
    let mut imports = BTreeMap::new();
    let mut code_by_module = BTreeMap::new();
    for file in files.iter().filter(|f| !f.ends_with("main.rs")) {
        let module = module_of(&src, file);
        let code = code_of(&std::fs::read_to_string(file).expect("read file"));
        let mut targets = BTreeSet::new();
        for path in named_paths(&code, &module) {
            // The longest prefix of the path that is a file of the crate.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|prefix| modules.contains(prefix));
            if let Some(target) = target.filter(|t| *t != module) {
                targets.insert(target);
            }
        }
        imports.insert(module.clone(), targets);
        code_by_module.insert(module, code);
    }
    Tree {
        imports,
        code: code_by_module,
    }
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

fn in_layer(module: &[String], layer: &str) -> bool {
    module.first().is_some_and(|m| m == layer)
}

/// Every import from a module of `layer` to a module for which `refused` holds.
fn imports_refused(tree: &Tree, layer: &str, refused: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut broken = Vec::new();
    for (module, targets) in &tree.imports {
        if in_layer(module, layer) {
            for target in targets.iter().filter(|t| refused(t)) {
                broken.push(format!("{} imports {}", name(module), name(target)));
            }
        }
    }
    broken
}

/// Fails with every import of a module of `layer` that reaches one of `forbidden`.
fn assert_layer_avoids(tree: &Tree, layer: &str, forbidden: &[&str]) {
    let broken = imports_refused(tree, layer, |t| forbidden.iter().any(|f| in_layer(t, f)));
    assert!(
        broken.is_empty(),
        "`{layer}` must not import {forbidden:?} (docs/ARCHITECTURE.md):\n{}",
        broken.join("\n")
    );
}

/// Fails with every import of a module of `layer` that reaches a layer not in `allowed`.
fn assert_layer_only_imports(tree: &Tree, layer: &str, allowed: &[&str]) {
    let broken = imports_refused(tree, layer, |t| !allowed.iter().any(|a| in_layer(t, a)));
    assert!(
        broken.is_empty(),
        "`{layer}` may import only {allowed:?} (docs/ARCHITECTURE.md):\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_lower_layers_import_only_what_the_table_allows() {
    let tree = read_tree();
    assert_layer_only_imports(&tree, "domain", &["domain"]);
    assert_layer_only_imports(&tree, "db", &["db", "domain"]);
    assert_layer_only_imports(&tree, "auth", &["auth", "db", "domain", "settings"]);
    assert_layer_only_imports(&tree, "clinic", &["clinic", "auth", "db", "domain"]);
    assert_layer_only_imports(
        &tree,
        "mail",
        &[
            "mail", "clinic", "auth", "db", "domain", "settings", "metrics", "workers",
        ],
    );
    assert_layer_only_imports(
        &tree,
        "sms",
        &[
            "sms", "clinic", "auth", "db", "domain", "settings", "workers",
        ],
    );
    assert_layer_only_imports(
        &tree,
        "webhooks",
        &["webhooks", "clinic", "db", "domain", "settings", "workers"],
    );
}

/// Fails when code of `layer` names one of `words` (outside comments and strings).
fn assert_layer_never_names(tree: &Tree, layer: &str, words: &[&str], why: &str) {
    for (module, code) in &tree.code {
        if in_layer(module, layer) {
            for word in words {
                assert!(!code.contains(word), "{} names {word}: {why}", name(module));
            }
        }
    }
}

// The layers below the handlers (auth, clinic, mail, db, domain) are held to allow-lists in
// `the_lower_layers_import_only_what_the_table_allows`; these add what an allow-list cannot say.

#[test]
fn handlers_and_extractors_do_not_import_startup() {
    let tree = read_tree();
    assert_layer_avoids(&tree, "routes", &["startup"]);
}

#[test]
fn operations_know_nothing_of_http() {
    assert_layer_never_names(
        &read_tree(),
        "clinic",
        &["ApiError", "actix_web", "HttpResponse", "StatusCode"],
        "operations answer with ClinicError and know nothing of HTTP",
    );
}

#[test]
fn domain_types_neither_speak_http_nor_query() {
    assert_layer_never_names(
        &read_tree(),
        "domain",
        &[
            "actix_web",
            "diesel::prelude",
            "diesel::insert_into",
            ".load(",
        ],
        "domain types neither speak HTTP nor query",
    );
}

#[test]
fn no_file_imports_itself_through_a_circle() {
    let tree = read_tree();
    // Depth-first search for a back edge, reporting the circle it closes.
    fn visit(
        module: &Vec<String>,
        tree: &Tree,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut circle = path[at..].to_vec();
            circle.push(module.clone());
            return Some(circle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.clone());
        for target in tree.imports.get(module).into_iter().flatten() {
            if let Some(circle) = visit(target, tree, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(module.clone());
        None
    }
    let mut done = BTreeSet::new();
    for module in tree.imports.keys().filter(|m| !m.is_empty()) {
        if let Some(circle) = visit(module, &tree, &mut Vec::new(), &mut done) {
            let names: Vec<String> = circle.iter().map(|m| name(m)).collect();
            panic!("import circle: {}", names.join(" -> "));
        }
    }
}

#[test]
fn the_checks_see_imports() {
    // Guards the parser: a check that reads nothing would pass everything.
    let tree = read_tree();
    let bookings = vec!["routes".to_owned(), "bookings".to_owned()];
    let imports = &tree.imports[&bookings];
    for expected in [
        vec!["clinic".to_owned(), "appointments".to_owned()],
        vec!["state".to_owned()],
        vec!["routes".to_owned(), "views".to_owned()],
    ] {
        assert!(
            imports.contains(&expected),
            "routes::bookings imports {expected:?}"
        );
    }
}

#[test]
fn no_source_line_runs_past_200_characters() {
    // rustfmt keeps code to 100 columns but leaves attributes alone: OpenAPI annotations once
    // grew to 1,400-character lines. Long ones are split over lines instead.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut long = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read file");
        for (n, line) in text.lines().enumerate() {
            if line.chars().count() > 200 {
                long.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "lines over 200 characters:\n{}",
        long.join("\n")
    );
}
