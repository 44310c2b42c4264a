//! The crate graph and module structure that `../shared/docs/design.md` asks for, checked
//! on the sources and on cargo's own dependency resolution:
//!
//! - no module cycle in any crate: within each module, the graph of which child module
//!   uses which (through `crate::`, `super::` or `self::` paths, parsed with syn; test
//!   modules left out) has no cycle. A child using its parent's items and a parent using
//!   its children (`mod.rs` re-exports) are ownership, not cycles;
//! - dependencies point down the crate table: `serve` does not depend on `pipeline` or
//!   `transform`, `transform` (above `serve`) not on `pipeline`, and no library crate
//!   depends on clap or anyhow (`cargo tree`, normal dependencies, transitively);
//! - no source file over 600 lines, and `serve` under 9,000 lines (see
//!   `files_stay_small_and_serve_does_not_grow`).
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The library crates and where their sources are.
const LIBRARIES: &[&str] = &[
    "models",
    "train",
    "monitoring",
    "pipeline",
    "serve",
    "transform",
    "console",
    "loadtest",
];

/// `a::b` for `src/a/b.rs` and `src/a/b/mod.rs`; empty for the crate root.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
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
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Every path a file names, made absolute (from the crate root), outside test modules.
struct Paths {
    module: Vec<String>,
    found: Vec<Vec<String>>,
}

impl Paths {
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let mut out = self.module.clone();
        let mut rest = segments;
        match segments.first().map(String::as_str) {
            Some("crate") => {
                out.clear();
                rest = &segments[1..];
            }
            Some("self") => rest = &segments[1..],
            Some("super") => {
                while rest.first().map(String::as_str) == Some("super") {
                    out.pop()?;
                    rest = &rest[1..];
                }
            }
            _ => return None,
        }
        out.extend(rest.iter().cloned());
        Some(out)
    }

    fn add(&mut self, segments: Vec<String>) {
        if let Some(p) = self.absolute(&segments) {
            self.found.push(p);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut v = prefix.clone();
                v.push(n.ident.to_string());
                self.add(v);
            }
            syn::UseTree::Rename(r) => {
                let mut v = prefix.clone();
                v.push(r.ident.to_string());
                self.add(v);
            }
            syn::UseTree::Glob(_) => self.add(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if !is_test(&u.attrs) {
            self.use_tree(&mut Vec::new(), &u.tree);
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.add(segments);
        syn::visit::visit_path(self, p);
    }
}

/// Cycles among the child modules of each module of the crate under `src`, as lists of
/// module paths.
fn module_cycles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    // Edges between siblings: (parent, from child, to child).
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for f in &files {
        let module = module_of(src, f);
        let ast = syn::parse_file(&std::fs::read_to_string(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut paths = Paths {
            module: module.clone(),
            found: Vec::new(),
        };
        paths.visit_file(&ast);
        for p in paths.found {
            // The deepest file module the path reaches.
            let target = (0..=p.len())
                .rev()
                .map(|n| p[..n].to_vec())
                .find(|m| modules.contains(m))
                .unwrap_or_default();
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.len() || common == target.len() {
                continue; // the module itself, an ancestor or a descendant
            }
            edges
                .entry(module[..common].to_vec())
                .or_default()
                .insert((module[common].clone(), target[common].clone()));
        }
    }
    let mut cycles = Vec::new();
    for (parent, e) in edges {
        let mut graph: HashMap<&str, Vec<&str>> = HashMap::new();
        for (a, b) in &e {
            graph.entry(a).or_default().push(b);
        }
        // Depth-first search; a back edge closes a cycle.
        fn dfs<'a>(
            n: &'a str,
            g: &HashMap<&'a str, Vec<&'a str>>,
            state: &mut HashMap<&'a str, u8>,
            stack: &mut Vec<&'a str>,
            out: &mut Vec<Vec<String>>,
        ) {
            state.insert(n, 1);
            stack.push(n);
            for &m in g.get(n).into_iter().flatten() {
                match state.get(m).copied().unwrap_or(0) {
                    0 => dfs(m, g, state, stack, out),
                    1 => {
                        let i = stack.iter().position(|x| *x == m).unwrap();
                        let mut c: Vec<String> = stack[i..].iter().map(|s| s.to_string()).collect();
                        c.push(m.to_string());
                        out.push(c);
                    }
                    _ => {}
                }
            }
            stack.pop();
            state.insert(n, 2);
        }
        let mut state = HashMap::new();
        let mut found = Vec::new();
        let mut nodes: Vec<&str> = graph.keys().copied().collect();
        nodes.sort();
        for n in nodes {
            if !state.contains_key(n) {
                dfs(n, &graph, &mut state, &mut Vec::new(), &mut found);
            }
        }
        let at = if parent.is_empty() {
            "crate".to_string()
        } else {
            parent.join("::")
        };
        for c in found {
            cycles.push(format!("{at}: {}", c.join(" -> ")));
        }
    }
    cycles
}

fn crate_dirs() -> Vec<(String, PathBuf)> {
    let root = Path::new(ROOT);
    let mut out = vec![("sentio".to_string(), root.join("src"))];
    for c in LIBRARIES {
        let src = root.join(c).join("src");
        if src.is_dir() {
            out.push((c.to_string(), src));
        }
    }
    out
}

#[test]
fn no_module_cycles_in_any_crate() {
    let mut all = Vec::new();
    for (name, src) in crate_dirs() {
        for c in module_cycles(&src) {
            all.push(format!("{name}: {c}"));
        }
    }
    assert!(all.is_empty(), "module cycles:\n{}", all.join("\n"));
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "mod a; mod b; mod c;").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::X; pub struct Y;").unwrap();
    std::fs::write(src.join("b.rs"), "pub struct X(super::c::Z);").unwrap();
    std::fs::write(
        src.join("c.rs"),
        "pub struct Z(crate::a::Y);\n#[cfg(test)]\nmod tests { use crate::b::X; }",
    )
    .unwrap();
    let cycles = module_cycles(src);
    assert_eq!(cycles, ["crate: a -> b -> c -> a"]);
    // A parent using its child and the child its parent is not a cycle.
    std::fs::create_dir(src.join("p")).unwrap();
    std::fs::write(src.join("c.rs"), "pub struct Z;").unwrap();
    std::fs::write(src.join("p/mod.rs"), "mod q; pub use q::Q; pub struct P;").unwrap();
    std::fs::write(src.join("p/q.rs"), "pub struct Q(super::P);").unwrap();
    assert!(module_cycles(src).is_empty());
}

/// Normal (not dev or build) dependencies of a package, by name, transitively, as
/// `cargo tree` resolves them for this machine.
fn normal_dependencies(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // name@version: a crate of ours may share its name with a dependency's (`console`).
    let spec = format!("{package}@{}", env!("CARGO_PKG_VERSION"));
    let out = std::process::Command::new(cargo)
        .args([
            "tree", "-p", &spec, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(ROOT)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != package)
        .map(String::from)
        .collect()
}

#[test]
fn dependencies_point_down_the_crate_table() {
    let serve = normal_dependencies("serve");
    assert!(!serve.contains("pipeline"), "serve depends on pipeline");
    assert!(serve.contains("monitoring") && serve.contains("models"));
    assert!(!serve.contains("transform"), "serve depends on transform");
    let transform = normal_dependencies("transform");
    assert!(transform.contains("serve") && transform.contains("models"));
    // (not `console`: indicatif's terminal crate shares our console's name)
    for above in ["pipeline", "train"] {
        assert!(!transform.contains(above), "transform depends on {above}");
    }
    let console = normal_dependencies("console");
    assert!(!console.contains("serve"), "console depends on serve");
    assert!(console.contains("pipeline") && console.contains("monitoring"));
    let monitoring = normal_dependencies("monitoring");
    for above in ["serve", "pipeline", "train"] {
        assert!(!monitoring.contains(above), "monitoring depends on {above}");
    }
    for lib in LIBRARIES {
        if !Path::new(ROOT).join(lib).is_dir() {
            continue;
        }
        let deps = normal_dependencies(lib);
        for banned in ["clap", "anyhow"] {
            assert!(
                !deps.contains(banned),
                "library crate {lib} depends on {banned}"
            );
        }
    }
}

#[test]
fn files_stay_small_and_serve_does_not_grow() {
    let mut big = Vec::new();
    let mut serve_lines = 0;
    for (name, src) in crate_dirs() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for f in files {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            if n > 600 {
                big.push(format!("{} ({n} lines)", f.display()));
            }
            if name == "serve" {
                serve_lines += n;
            }
        }
    }
    assert!(big.is_empty(), "files over 600 lines: {big:?}");
    // Issue 16: `serve` under 9,000 lines, counted as the issue counted it (every line of
    // `serve/src`, unit tests included: 12,880 when it was filed). The monitoring loop's
    // formats went to `monitoring`, and the batch transform engine to `transform`.
    assert!(serve_lines < 9_000, "serve has {serve_lines} lines");
}
