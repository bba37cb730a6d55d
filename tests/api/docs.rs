//! The documentation stays true to the code: `docs/API.md` documents every type, field, argument,
//! input field, enum value and directive of `schema.graphql` and every error code the server can
//! send; no Markdown file links outside the repository or to a file or heading that does not
//! exist; and every `fandb` subcommand, flag and `FANDB_*` variable the docs name is one the
//! binary has (read from its `--help`). No database is needed.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// The text under `### name` up to the next heading of level 1 to 3, if there is such a heading.
fn section<'a>(markdown: &'a str, name: &str) -> Option<&'a str> {
    let heading = format!("### {name}");
    let start = markdown.lines().scan(0, |offset, line| {
        let at = *offset;
        *offset += line.len() + 1;
        Some((at, line))
    });
    let (at, _) = start.into_iter().find(|(_, line)| line.trim_end() == heading)?;
    let body = &markdown[at + heading.len()..];
    let end = body
        .lines()
        .scan(0, |offset, line| {
            let at = *offset;
            *offset += line.len() + 1;
            Some((at, line))
        })
        .find(|(_, line)| line.starts_with("# ") || line.starts_with("## ") || line.starts_with("### "))
        .map_or(body.len(), |(at, _)| at);
    Some(&body[..end])
}

/// The table row of `name` in a section: a line starting with "| `name`" or "| `name(".
fn row<'a>(section: &'a str, name: &str) -> Option<&'a str> {
    let plain = format!("| `{name}`");
    let called = format!("| `{name}(");
    section.lines().find(|line| line.starts_with(&plain) || line.starts_with(&called))
}

#[test]
fn api_md_documents_every_type_field_argument_and_value_of_the_schema() {
    let sdl = read(&root().join("schema.graphql"));
    let api = read(&root().join("docs/API.md"));
    let schema = parse_schema(&sdl).expect("schema.graphql parses");
    let mut missing = Vec::new();
    let mut checked = 0;
    for definition in &schema.definitions {
        let definition = match definition {
            TypeSystemDefinition::Type(definition) => &definition.node,
            TypeSystemDefinition::Directive(directive) => {
                let name = format!("`@{}", directive.node.name.node);
                if !api.contains(&name) {
                    missing.push(format!("directive @{}", directive.node.name.node));
                }
                continue;
            }
            TypeSystemDefinition::Schema(_) => continue,
        };
        let type_name = definition.name.node.as_str();
        checked += 1;
        let Some(text) = section(&api, type_name) else {
            missing.push(format!("section `### {type_name}`"));
            continue;
        };
        let mut need_row = |name: &str, arguments: &[&str]| match row(text, name) {
            None => missing.push(format!("{type_name}.{name}")),
            Some(line) => {
                for argument in arguments {
                    if !line.contains(&format!("{argument}:")) {
                        missing.push(format!("{type_name}.{name}({argument}:)"));
                    }
                }
            }
        };
        match &definition.kind {
            TypeKind::Object(object) => {
                for field in &object.fields {
                    let arguments: Vec<&str> = field.node.arguments.iter().map(|a| a.node.name.node.as_str()).collect();
                    need_row(field.node.name.node.as_str(), &arguments);
                }
            }
            TypeKind::Interface(interface) => {
                for field in &interface.fields {
                    let arguments: Vec<&str> = field.node.arguments.iter().map(|a| a.node.name.node.as_str()).collect();
                    need_row(field.node.name.node.as_str(), &arguments);
                }
            }
            TypeKind::InputObject(input) => {
                for field in &input.fields {
                    need_row(field.node.name.node.as_str(), &[]);
                }
            }
            TypeKind::Enum(enumeration) => {
                for value in &enumeration.values {
                    need_row(value.node.value.node.as_str(), &[]);
                }
            }
            TypeKind::Union(union) => {
                for member in &union.members {
                    if !text.contains(&format!("`{}`", member.node)) {
                        missing.push(format!("{type_name} member {}", member.node));
                    }
                }
            }
            TypeKind::Scalar => {}
        }
    }
    assert!(checked > 50, "schema.graphql yielded only {checked} types: is the parser reading it?");
    assert!(
        missing.is_empty(),
        "docs/API.md does not document (a `### Type` section, with a table row \"| `name` …\" per field, \
         argument (`name:` in the field's row), input field and enum value):\n  {}",
        missing.join("\n  ")
    );
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The string literals of `source` (comments, char literals and raw strings handled) with up to 80
/// bytes of the code just before each.
fn literals(source: &str) -> Vec<(&str, &str)> {
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at = source[at..].find('\n').map_or(bytes.len(), |end| at + end);
            }
            b'\'' if bytes.get(at + 2) == Some(&b'\'') || bytes.get(at + 1) == Some(&b'\\') => {
                // A char literal such as '"' or '\n' (a lifetime has no closing quote there).
                at = source[at + 1..].find('\'').map_or(bytes.len(), |end| at + 1 + end + 1);
            }
            b'r' if matches!(bytes.get(at + 1), Some(b'"' | b'#')) && !is_word(bytes, at) => {
                let hashes = bytes[at + 1..].iter().take_while(|b| **b == b'#').count();
                let open = at + 1 + hashes;
                if bytes.get(open) != Some(&b'"') {
                    at += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let end = source[open + 1..].find(&close).map_or(bytes.len(), |end| open + 1 + end);
                found.push((before(source, at), &source[open + 1..end]));
                at = end + close.len();
            }
            b'"' => {
                let mut end = at + 1;
                while end < bytes.len() && bytes[end] != b'"' {
                    end += if bytes[end] == b'\\' { 2 } else { 1 };
                }
                found.push((before(source, at), &source[at + 1..end.min(bytes.len())]));
                at = end + 1;
            }
            _ => at += 1,
        }
    }
    found
}

/// Whether the byte before `at` continues an identifier (so an `r` there is no raw string).
fn is_word(bytes: &[u8], at: usize) -> bool {
    at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_')
}

/// Up to 80 bytes of `source` before `at`, cut at a character boundary.
fn before(source: &str, at: usize) -> &str {
    let mut start = at.saturating_sub(80);
    while !source.is_char_boundary(start) {
        start += 1;
    }
    &source[start..at]
}

fn is_code_shaped(text: &str) -> bool {
    !text.is_empty()
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The error codes the server can send: every `const X: &str = "X"` spelled in capitals (the code
/// modules), and every capitals-and-underscores literal set as a code elsewhere, less the names of
/// environment variables.
fn error_codes() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for file in rust_files(&root().join("api/src")) {
        let source = read(&file);
        for (before, literal) in literals(&source) {
            if !is_code_shaped(literal) {
                continue;
            }
            let constant = before.trim_end().ends_with(&format!("{literal}: &str ="));
            let underscored = literal.contains('_');
            let environment = literal.starts_with("FANDB_")
                || ["env = ", "var(", "var_os("].iter().any(|call| before.trim_end().ends_with(call.trim_end()));
            if (constant || underscored) && !environment && !["DATABASE_URL", "NO_COLOR", "RUST_LOG"].contains(&literal)
            {
                codes.insert(literal.to_owned());
            }
        }
    }
    codes
}

#[test]
fn api_md_documents_every_error_code_the_server_sends() {
    let api = read(&root().join("docs/API.md"));
    let codes = error_codes();
    for known in ["UNAUTHENTICATED", "BAD_USER_INPUT", "PERSISTED_QUERY_NOT_FOUND", "REQUEST_TIMEOUT"] {
        assert!(codes.contains(known), "the code scan lost {known}: found {codes:?}");
    }
    let missing: Vec<&String> = codes.iter().filter(|code| !api.contains(&format!("`{code}`"))).collect();
    assert!(missing.is_empty(), "docs/API.md does not document the error codes {missing:?}");
}

/// The repository's own Markdown files: not under `target*`, `node_modules`, `.git`, or a vendored
/// crate (whose files are upstream's); `vendor/README.md` is ours.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root().to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let vendored = dir.file_name().is_some_and(|parent| parent == "vendor") && dir.parent() == Some(root());
                if !(name.starts_with('.') || name.starts_with("target") || name == "node_modules" || vendored) {
                    pending.push(path);
                }
            } else if name.ends_with(".md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `text` without its fenced code blocks (a link there is an example, not a link).
fn prose(text: &str) -> String {
    let mut fenced = false;
    let mut kept = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// The targets of the inline links (`[text](target)`) of a Markdown text, outside code.
fn link_targets(text: &str) -> Vec<String> {
    let prose: String = prose(text).split('`').step_by(2).collect::<Vec<_>>().join(" ");
    let mut targets = Vec::new();
    let mut rest = prose.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        let target = after[..end].split_whitespace().next().unwrap_or("").trim_matches(['<', '>']);
        targets.push(target.to_owned());
        rest = &after[end..];
    }
    targets
}

/// GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces to
/// hyphens, and `-1`, `-2` … for repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = BTreeSet::new();
    for line in prose(text).lines() {
        let Some(title) = line.strip_prefix('#').map(|rest| rest.trim_start_matches('#')) else { continue };
        if !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let count = seen.entry(slug.clone()).or_insert(0);
        anchors.insert(if *count == 0 { slug.clone() } else { format!("{slug}-{count}") });
        *count += 1;
    }
    anchors
}

#[test]
fn markdown_links_stay_inside_the_repository_and_resolve() {
    let files = markdown_files();
    let names: Vec<String> = files.iter().map(|f| f.strip_prefix(root()).unwrap().display().to_string()).collect();
    for expected in ["README.md", "docs/API.md", "docs/OPERATIONS.md", "docs/SECURITY.md"] {
        assert!(names.iter().any(|name| name == expected), "{expected} is missing (found {names:?})");
    }
    let mut broken = Vec::new();
    for file in &files {
        let name = file.strip_prefix(root()).unwrap().display();
        let text = read(file);
        if text.contains("../shared") || text.contains("/work/") {
            broken.push(format!("{name}: points outside the repository (`../shared` or `/work/`)"));
        }
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            if !linked.exists() {
                broken.push(format!("{name}: link to `{target}`: no such file"));
            } else if !linked.starts_with(root()) || !linked.canonicalize().unwrap().starts_with(root()) {
                broken.push(format!("{name}: link to `{target}` leaves the repository"));
            } else if !anchor.is_empty()
                && linked.extension().is_some_and(|e| e == "md")
                && !anchors(&read(&linked)).contains(anchor)
            {
                broken.push(format!("{name}: link to `{target}`: no such heading"));
            }
        }
    }
    assert!(broken.is_empty(), "broken Markdown links:\n  {}", broken.join("\n  "));
    let readme = read(&root().join("README.md")).lines().count();
    assert!(readme <= 150, "README.md has {readme} lines: keep it a front page (at most 150), move the rest to docs/");
}

/// What `fandb` offers, from its own `--help`: the subcommands (`audit prune` as one), the flags each
/// accepts (global ones everywhere), and each flag's environment variable.
struct Cli {
    flags: HashMap<String, BTreeSet<String>>,
    env_of_flag: HashMap<String, String>,
}

fn help(words: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fandb")).args(words).arg("--help").output().unwrap();
    assert!(output.status.success(), "fandb {} --help failed", words.join(" "));
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommands listed under `Commands:` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

impl Cli {
    fn read() -> Self {
        let mut cli = Cli { flags: HashMap::new(), env_of_flag: HashMap::new() };
        let mut pending = vec![String::new()];
        while let Some(command) = pending.pop() {
            let words: Vec<&str> = command.split_whitespace().collect();
            let text = help(&words);
            for sub in subcommands(&text) {
                pending.push(format!("{command} {sub}").trim().to_owned());
            }
            let mut flags = BTreeSet::new();
            let mut last_flag = None;
            for line in text.lines() {
                let line = line.trim();
                let flag = line.split([',', ' ']).find(|word| word.starts_with("--") && word.len() > 2);
                if line.starts_with('-')
                    && let Some(flag) = flag
                {
                    flags.insert(flag.to_owned());
                    last_flag = Some(flag.to_owned());
                }
                if let Some(env) = line.strip_prefix("[env: ")
                    && let Some(flag) = &last_flag
                {
                    let env = env.split(['=', ']']).next().unwrap().to_owned();
                    cli.env_of_flag.insert(flag.clone(), env);
                }
            }
            cli.flags.insert(command, flags);
        }
        cli
    }

    fn environment(&self) -> BTreeSet<&str> {
        self.env_of_flag.values().map(String::as_str).collect()
    }
}

/// `text` without its `## Reserved names` section: names coming work will add, which the server
/// does not have yet.
fn without_reserved(text: &str) -> String {
    let mut kept = String::new();
    let mut reserved = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            reserved = line.trim_end() == "## Reserved names";
        }
        if !reserved {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// The `FANDB_*` names in a text.
fn fandb_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("FANDB_") {
        if text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let name: String =
            text[at..].chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
        // `FANDB_*` names the family, not a variable.
        let name = name.trim_end_matches('_');
        if name != "FANDB" {
            names.insert(name.to_owned());
        }
    }
    names
}

/// The `FANDB_*` names the code reads outside the server's own settings (the tests', the
/// benchmarks', CI's), from every source file but the Markdown and the deployment examples.
fn names_in_sources() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut pending: Vec<PathBuf> =
        ["api/src", "src", "tests", "benches", ".ci"].iter().map(|dir| root().join(dir)).collect();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap().map(Result::unwrap) {
                if entry.file_name() != "node_modules" && entry.path() != root().join("tests/api/docs.rs") {
                    pending.push(entry.path());
                }
            }
        } else if path.extension().is_none_or(|e| e != "md")
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            names.extend(fandb_names(&text));
        }
    }
    names
}

/// The commands a Markdown text runs: each line of a fenced block and each inline code span.
fn command_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            lines.push(line.to_owned());
        } else {
            lines.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    lines
}

/// The `fandb` invocations in a command line: `fandb …`, `path/to/fandb …` or `cargo run … -- …`,
/// as the words after the program up to the end of that command.
fn invocations(line: &str) -> Vec<Vec<String>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut found = Vec::new();
    for (at, word) in words.iter().enumerate() {
        let previous = at.checked_sub(1).map(|p| words[p]);
        let starts_command =
            previous.is_none_or(|p| p.contains('=') || ["&&", "||", ";", "|", "exec", "sudo"].contains(&p));
        let path = word.ends_with("/fandb") && !word.contains(['=', ':']);
        let program = (*word == "fandb" || path) && starts_command;
        let cargo = *word == "--" && words[..at].contains(&"run") && words[..at].contains(&"cargo");
        if program || cargo {
            let args = words[at + 1..]
                .iter()
                .take_while(|w| !["&&", "||", ";", "|", "#"].contains(w))
                .map(|w| w.trim_matches(['[', ']', '(', ')']).to_owned())
                .collect();
            found.push(args);
        }
    }
    found
}

#[test]
fn operations_md_documents_every_setting_and_flag() {
    let cli = Cli::read();
    let operations = read(&root().join("docs/OPERATIONS.md"));
    let mut missing = Vec::new();
    let global = &cli.flags[""];
    for (command, flags) in &cli.flags {
        let own = |flag: &&String| {
            !["--help", "--version"].contains(&flag.as_str()) && (command.is_empty() || !global.contains(*flag))
        };
        for flag in flags.iter().filter(own) {
            // A setting (every global flag is in the root's help) has a row of the settings table;
            // a subcommand's own flag is named where the command is.
            let documented = if command.is_empty() {
                operations.contains(&format!("| `{flag}` |"))
            } else {
                operations.contains(flag.as_str())
            };
            if !documented {
                missing.push(if command.is_empty() { flag.clone() } else { format!("fandb {command} {flag}") });
            }
        }
    }
    assert!(missing.is_empty(), "docs/OPERATIONS.md does not document {missing:?} (see `fandb --help`)");
}

#[test]
fn documented_commands_flags_and_settings_exist() {
    let cli = Cli::read();
    assert!(cli.flags.contains_key("audit prune"), "fandb --help lists no `audit prune`: {:?}", cli.flags.keys());
    let known_env: BTreeSet<String> =
        cli.environment().into_iter().map(str::to_owned).chain(names_in_sources()).collect();
    let mut wrong = Vec::new();
    for file in &markdown_files() {
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        let text = without_reserved(&read(file));
        for env in fandb_names(&text) {
            if !known_env.contains(&env) {
                wrong.push(format!("{name}: `{env}` is no setting of `fandb --help` and is read nowhere"));
            }
        }
        // A settings table row: | `--flag` | `ENV` | …
        for line in text.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if let [_, flag, env, ..] = cells.as_slice()
                && let Some(flag) = flag.strip_prefix("`--").and_then(|f| f.strip_suffix('`'))
            {
                let flag = format!("--{flag}");
                let env = env.trim_matches('`');
                match cli.env_of_flag.get(&flag) {
                    None => wrong.push(format!("{name}: the table names `{flag}`, which `fandb --help` lacks")),
                    Some(actual) if actual != env => {
                        wrong.push(format!("{name}: `{flag}` is `{actual}` in `fandb --help`, not `{env}`"))
                    }
                    Some(_) => {}
                }
            }
        }
        for line in command_lines(&text) {
            for args in invocations(&line) {
                let mut command = String::new();
                for (index, arg) in args.iter().enumerate() {
                    let candidate = format!("{command} {arg}").trim().to_owned();
                    if arg.starts_with("--") {
                        let flag = arg.split('=').next().unwrap();
                        if !cli.flags[&command].contains(flag) {
                            wrong.push(format!("{name}: `{line}`: `fandb {command}` has no flag `{flag}`"));
                        }
                    } else if cli.flags.contains_key(&candidate) {
                        command = candidate;
                    } else if index == 0 && arg.starts_with(|c: char| c.is_ascii_lowercase()) {
                        wrong.push(format!("{name}: `{line}`: `fandb {arg}` is no subcommand"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "the docs name what fandb does not have:\n  {}", wrong.join("\n  "));
}
