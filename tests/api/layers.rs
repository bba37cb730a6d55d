//! The layering of `api/src`, checked from its source. Every path a module names (`use crate::…`,
//! `super::…`, a child module, or a module it imported by name) must point down the layer table of
//! `docs/ARCHITECTURE.md`, and no modules may import each other in a cycle unless the table of
//! allowed cycles there names every arrow of it. Both tables are read from the document, so the
//! rule and its description cannot drift apart. No database: plain `#[test]`s.
//!
//! `FANDB_LAYERS_SRC` points the check at another tree's `api/src` (to see it fail on an old one).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path such as `graphql::films`; the crate root is empty.
type Module = Vec<String>;

fn show(module: &[String]) -> String {
    if module.is_empty() { "crate".to_owned() } else { module.join("::") }
}

/// One row entry of the layer table: a module (and everything under it) and its layer.
#[derive(Debug)]
struct Entry {
    module: Module,
    layer: u32,
}

/// The two tables of `docs/ARCHITECTURE.md`.
#[derive(Debug, Default)]
struct Rules {
    entries: Vec<Entry>,
    /// Pairs of modules that may import each other, each pair stored in both orders.
    allowed: BTreeSet<(Module, Module)>,
}

/// The backticked module paths of a table cell.
fn modules_in(cell: &str) -> Vec<Module> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|path| path.split("::").filter(|part| !part.is_empty()).map(str::to_owned).collect())
        .collect()
}

/// The rows of the first table under the heading `heading`, split into trimmed cells.
fn table_under<'a>(document: &'a str, heading: &str) -> Vec<Vec<&'a str>> {
    let mut lines = document.lines().skip_while(|line| line.trim() != heading).skip(1);
    let mut rows = Vec::new();
    let mut started = false;
    for line in lines.by_ref() {
        let line = line.trim();
        if line.starts_with("## ") {
            break;
        }
        if line.starts_with('|') {
            started = true;
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            // The header and its `|---|` separator carry no rule.
            if cells.iter().all(|cell| cell.chars().all(|c| c == '-' || c == ':')) {
                rows.clear();
                continue;
            }
            rows.push(cells);
        } else if started {
            break;
        }
    }
    rows
}

fn parse_rules(document: &str) -> Rules {
    let mut rules = Rules::default();
    for cells in table_under(document, "## Layers") {
        let layer: u32 =
            cells[0].parse().unwrap_or_else(|_| panic!("layer table: `{}` is not a layer number", cells[0]));
        for module in modules_in(cells[1]) {
            rules.entries.push(Entry { module, layer });
        }
    }
    for cells in table_under(document, "## Allowed cycles") {
        let pair = modules_in(cells[0]);
        assert_eq!(pair.len(), 2, "allowed cycles: `{}` must name two modules", cells[0]);
        rules.allowed.insert((pair[0].clone(), pair[1].clone()));
        rules.allowed.insert((pair[1].clone(), pair[0].clone()));
    }
    rules
}

/// A token of Rust source: a word (identifier or keyword), `::`, or one punctuation character.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Path,
    Punct(char),
}

/// The tokens of `source` with their lines, comments, strings and character literals dropped.
fn tokens(source: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else if i >= chars.len() {
                    break;
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a, which has no closing quote).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if (word == "r" || word == "br")
                && (at(i) == '"' || (at(i) == '#' && (at(i + 1) == '"' || at(i + 1) == '#')))
            {
                // A raw string: r"…", r#"…"#, closed by a quote and as many #s as opened it.
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                i += 1;
                while i < chars.len() {
                    if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            } else {
                out.push((Token::Word(word), line));
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push((Token::Path, line));
            i += 2;
        } else {
            out.push((Token::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// The paths a `use` tree names, from the tokens after `use` up to its `;`; `{self}` names its
/// prefix.
fn use_paths(tree: &[Token]) -> Vec<Vec<String>> {
    fn walk(tree: &[Token], prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        let mut i = 0;
        while i < tree.len() {
            match &tree[i] {
                Token::Word(word) if word == "as" => {
                    // `use a::b as c;`: the name in scope is `c`.
                    if let Some(Token::Word(rename)) = tree.get(i + 1) {
                        out.push([path.as_slice(), &["as".to_owned(), rename.clone()]].concat());
                    }
                    return;
                }
                Token::Word(word) if word == "self" && path.len() == prefix.len() && !prefix.is_empty() => {}
                Token::Word(word) => path.push(word.clone()),
                Token::Punct('*') => path.push("*".to_owned()),
                Token::Punct('{') => {
                    // Split the group at its top-level commas.
                    let mut depth = 0;
                    let mut start = i + 1;
                    for j in i + 1..tree.len() {
                        match tree[j] {
                            Token::Punct('{') => depth += 1,
                            Token::Punct('}') if depth == 0 => {
                                if start < j {
                                    walk(&tree[start..j], &path, out);
                                }
                                return;
                            }
                            Token::Punct('}') => depth -= 1,
                            Token::Punct(',') if depth == 0 => {
                                if start < j {
                                    walk(&tree[start..j], &path, out);
                                }
                                start = j + 1;
                            }
                            _ => {}
                        }
                    }
                    return;
                }
                _ => {}
            }
            i += 1;
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    walk(tree, &[], &mut out);
    out
}

/// An import arrow and where it was written.
type Edges = BTreeMap<(Module, Module), String>;

/// The arrows between the modules of a tree given as (module, file name, source).
fn edges(files: &[(Module, String, String)]) -> Edges {
    let known: BTreeSet<&Module> = files.iter().map(|(module, _, _)| module).collect();
    // The file module that holds an item at `path`: its longest prefix that is a module.
    let holder = |path: &[String]| -> Option<Module> {
        (0..=path.len()).rev().map(|k| path[..k].to_vec()).find(|prefix| known.contains(prefix))
    };
    let mut edges = Edges::new();
    for (file_module, name, source) in files {
        let tokens = tokens(source);
        // Inline modules (`mod tests { … }`) and the brace depth each opened at.
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0;
        let mut aliases: BTreeMap<String, Module> = BTreeMap::new();
        let here = |inline: &[(String, usize)]| -> Module {
            let mut module = file_module.clone();
            module.extend(inline.iter().map(|(name, _)| name.clone()));
            module
        };
        let resolve = |path: &[String], inline: &[(String, usize)], aliases: &BTreeMap<String, Module>| {
            let first = path.first()?.as_str();
            let current = here(inline);
            let absolute: Module = match first {
                "crate" => path[1..].to_vec(),
                "self" | "super" => {
                    let mut base = current;
                    let ups = path.iter().take_while(|part| *part == "self" || *part == "super").collect::<Vec<_>>();
                    for part in &ups {
                        if *part == "super" {
                            base.pop();
                        }
                    }
                    base.extend(path[ups.len()..].iter().cloned());
                    base
                }
                _ if inline.is_empty() && known.contains(&[file_module.as_slice(), &[first.to_owned()]].concat()) => {
                    [file_module.as_slice(), path].concat()
                }
                _ => [aliases.get(first)?.as_slice(), &path[1..]].concat(),
            };
            Some(absolute)
        };
        let add = |target: Module, line: usize, edges: &mut Edges| {
            if let Some(module) = holder(&target)
                && module != *file_module
            {
                edges.entry((file_module.clone(), module)).or_insert_with(|| format!("{name}:{line}"));
            }
        };
        let mut i = 0;
        while i < tokens.len() {
            let (token, line) = &tokens[i];
            match token {
                Token::Word(word)
                    if word == "pub" && tokens.get(i + 1).is_some_and(|(next, _)| *next == Token::Punct('(')) =>
                {
                    // `pub(in crate::graphql)` restricts visibility; it imports nothing.
                    i = (i..tokens.len()).find(|&j| tokens[j].0 == Token::Punct(')')).unwrap_or(i) + 1;
                    continue;
                }
                Token::Word(word) if word == "mod" => {
                    if let (Some((Token::Word(inner), _)), Some((Token::Punct('{'), _))) =
                        (tokens.get(i + 1), tokens.get(i + 2))
                    {
                        inline.push((inner.clone(), depth));
                        depth += 1;
                        i += 3;
                        continue;
                    }
                }
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => {
                    depth -= 1;
                    if inline.last().is_some_and(|(_, opened)| *opened == depth) {
                        inline.pop();
                    }
                }
                Token::Word(word) if word == "use" => {
                    let end = (i..tokens.len()).find(|&j| tokens[j].0 == Token::Punct(';')).unwrap_or(tokens.len());
                    let tree: Vec<Token> = tokens[i + 1..end]
                        .iter()
                        .map(|(token, _)| match token {
                            Token::Word(w) => Token::Word(w.clone()),
                            Token::Path => Token::Path,
                            Token::Punct(c) => Token::Punct(*c),
                        })
                        .collect();
                    for mut path in use_paths(&tree) {
                        let name_in_scope = path.last().cloned().unwrap_or_default();
                        if path.len() > 2 && path[path.len() - 2] == "as" {
                            path.pop();
                            path.pop();
                        }
                        let Some(target) = resolve(&path, &inline, &aliases) else { continue };
                        if known.contains(&target) {
                            // A module imported by name: the arrows are the paths written through it.
                            aliases.insert(name_in_scope, target);
                        } else {
                            add(target, *line, &mut edges);
                        }
                    }
                    i = end + 1;
                    continue;
                }
                Token::Word(word) if i == 0 || tokens[i - 1].0 != Token::Path => {
                    // A path written in code: `crate::a::b`, `super::x`, `child::y`, `alias::z`.
                    let mut path = vec![word.clone()];
                    let mut j = i + 1;
                    while let (Some((Token::Path, _)), Some((Token::Word(next), _))) =
                        (tokens.get(j), tokens.get(j + 1))
                    {
                        path.push(next.clone());
                        j += 2;
                    }
                    if path.len() > 1
                        && let Some(target) = resolve(&path, &inline, &aliases)
                    {
                        add(target, *line, &mut edges);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
    edges
}

/// The modules of `api/src` at `root`, with their file names and sources.
fn read_tree(root: &Path) -> Vec<(Module, String, String)> {
    fn visit(dir: &Path, root: &Path, out: &mut Vec<(Module, String, String)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                visit(&path, root, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let mut module: Module =
                    relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
                if module.last().is_some_and(|last| last == "mod" || last == "lib") {
                    module.pop();
                }
                let name = format!("api/src/{}", path.strip_prefix(root).unwrap().display());
                out.push((module, name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    visit(root, root, &mut out);
    out
}

/// The strongly connected groups of more than one module (Tarjan).
fn cycles(edges: &Edges) -> Vec<Vec<Module>> {
    struct State<'a> {
        next: BTreeMap<&'a Module, Vec<&'a Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        groups: Vec<Vec<Module>>,
    }
    fn connect<'a>(state: &mut State<'a>, v: &'a Module) {
        let n = state.index.len();
        state.index.insert(v, n);
        state.low.insert(v, n);
        state.stack.push(v);
        state.on_stack.insert(v);
        for w in state.next.get(v).cloned().unwrap_or_default() {
            if !state.index.contains_key(w) {
                connect(state, w);
                let low = state.low[v].min(state.low[w]);
                state.low.insert(v, low);
            } else if state.on_stack.contains(w) {
                let low = state.low[v].min(state.index[w]);
                state.low.insert(v, low);
            }
        }
        if state.low[v] == state.index[v] {
            let mut group = Vec::new();
            while let Some(w) = state.stack.pop() {
                state.on_stack.remove(w);
                group.push(w.clone());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                state.groups.push(group);
            }
        }
    }
    let mut state = State {
        next: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for (from, to) in edges.keys() {
        state.next.entry(from).or_default().push(to);
        state.next.entry(to).or_default();
    }
    let nodes: Vec<&Module> = state.next.keys().copied().collect();
    for v in nodes {
        if !state.index.contains_key(v) {
            connect(&mut state, v);
        }
    }
    state.groups
}

/// Everything in the tree that breaks the rules, one line each.
fn violations(files: &[(Module, String, String)], rules: &Rules) -> Vec<String> {
    let mut found = Vec::new();
    let entry_of = |module: &Module| {
        rules.entries.iter().filter(|entry| module.starts_with(&entry.module)).max_by_key(|entry| entry.module.len())
    };
    for (module, name, _) in files {
        if !module.is_empty() && entry_of(module).is_none() {
            found.push(format!("{name}: module `{}` has no row in the layer table", show(module)));
        }
    }
    let edges = edges(files);
    for ((from, to), at) in &edges {
        // The crate root is the public surface: it names what the binary, tests and benches use.
        if from.is_empty() {
            continue;
        }
        let (Some(source), Some(target)) = (entry_of(from), entry_of(to)) else { continue };
        let within = source.module == target.module;
        if !within && source.layer >= target.layer {
            found.push(format!(
                "{at}: `{}` (layer {}, `{}`) imports `{}` (layer {}, `{}`): only lower layers may be imported",
                show(from),
                source.layer,
                show(&source.module),
                show(to),
                target.layer,
                show(&target.module)
            ));
        }
    }
    // A parent naming its own submodules assembles them (routes, schema roots, a facade); only
    // the other arrows can close a cycle.
    let arrows: Edges =
        edges.iter().filter(|((from, to), _)| !to.starts_with(from)).map(|(k, v)| (k.clone(), v.clone())).collect();
    for group in cycles(&arrows) {
        let members: BTreeSet<&Module> = group.iter().collect();
        let unnamed: Vec<String> = arrows
            .iter()
            .filter(|((from, to), _)| members.contains(from) && members.contains(to))
            .filter(|((from, to), _)| !rules.allowed.contains(&(from.clone(), to.clone())))
            .map(|((from, to), at)| format!("{} -> {} ({at})", show(from), show(to)))
            .collect();
        if !unnamed.is_empty() {
            let names: Vec<String> = group.iter().map(|module| show(module)).collect();
            found.push(format!(
                "import cycle among {} modules ({}); arrows not named as allowed: {}",
                group.len(),
                names.join(", "),
                unnamed.join("; ")
            ));
        }
    }
    found
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_import_follows_the_layer_table() {
    let document = std::fs::read_to_string(repository().join("docs/ARCHITECTURE.md")).unwrap();
    let rules = parse_rules(&document);
    assert!(rules.entries.len() >= 10, "the layer table names too few modules: {:?}", rules.entries);
    assert!(!rules.allowed.is_empty(), "the allowed cycles table is empty");
    let source = std::env::var_os("FANDB_LAYERS_SRC").map_or_else(|| repository().join("api/src"), PathBuf::from);
    let files = read_tree(&source);
    // A reader that found no arrows would pass anything.
    let arrows = edges(&files).len();
    assert!(arrows > 200, "only {arrows} import arrows found in {}", source.display());
    let found = violations(&files, &rules);
    assert!(found.is_empty(), "{} breaches of docs/ARCHITECTURE.md:\n{}", found.len(), found.join("\n"));
}

#[test]
fn the_check_sees_upward_imports_and_unnamed_cycles() {
    let rules = parse_rules(
        "## Layers\n| layer | modules |\n|---|---|\n| 1 | `http` |\n| 2 | `graphql` |\n| 3 | `domain` |\n\n\
         ## Allowed cycles\n| modules | why |\n|---|---|\n| `graphql::a` ↔ `graphql::b` | A.b, B.a |\n",
    );
    let file = |module: &str, source: &str| {
        let module: Module = module.split("::").map(str::to_owned).collect();
        (module.clone(), show(&module), source.to_owned())
    };
    let clean = [
        file("http", "use crate::graphql::a::A;"),
        file("graphql::a", "use super::b::B; fn f() { crate::domain::now(); }"),
        file("graphql::b", "use super::a::A;"),
        file("domain", "pub fn now() {}"),
    ];
    assert_eq!(violations(&clean, &rules), Vec::<String>::new());
    let upward = [
        file("graphql::a", ""),
        // A string or a comment naming a module is no import; the call below is.
        file("domain", "// crate::http::x\nconst S: &str = \"crate::http::y\"; fn f() { crate::graphql::a::run(); }"),
    ];
    let found = violations(&upward, &rules);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`domain` (layer 3, `domain`) imports `graphql::a`"), "{found:?}");
    let cycle = [
        file("domain", ""),
        file("domain::x", "use super::y::Y;"),
        file("domain::y", "use crate::domain::{self, x};\nfn f() { x::run(); }"),
    ];
    let found = violations(&cycle, &rules);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("domain::x -> domain::y") && found[0].contains("domain::y -> domain::x"), "{found:?}");
    let unplaced = [file("cli", "")];
    assert_eq!(violations(&unplaced, &rules).len(), 1);
}
