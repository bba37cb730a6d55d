//! One canonical form per mailbox: what an email address is stored, compared and looked up as.
//!
//! The text is NFKC-normalized, trimmed and lower-cased (NFKC again after lower-casing), so
//! fullwidth `ａ@x.com` and `A@X.com` are the same mailbox as `a@x.com`. What is left must be a
//! bare address: a dot-atom local part (letters and digits of any script, and RFC 5322's
//! `!#$%&'*+-/=?^_`{|}~` and inner dots) and a domain name of dot-separated labels (letters, digits
//! and inner hyphens) whose last label is not a number. That refuses a name or angle brackets
//! around the address (`<a@x.com>`, which would otherwise register a second account for the same
//! mailbox), IP-literal and bare-IP domains (`x@[127.0.0.1]`), and quoted or escaped local parts.
//! Each part (the local part, each domain label) must write its letters in one script (Latin with
//! Chinese, Japanese or Korean excepted, as UTS #39's highly restrictive level allows), so a
//! look-alike that mixes Cyrillic or Greek letters into a Latin name is refused.

use unicode_normalization::UnicodeNormalization;

use super::{DomainError, DomainResult};

/// The longest address (RFC 5321's path limit less the angle brackets).
pub(crate) const MAX_LENGTH: usize = 254;
/// The longest local part (RFC 5321).
pub(crate) const MAX_LOCAL_LENGTH: usize = 64;

/// The characters besides letters and digits a dot-atom local part may hold.
const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";

/// The canonical form of `email`, or `BAD_USER_INPUT` on `field` saying what is wrong with it.
pub(crate) fn canonical(email: &str, field: &str) -> DomainResult<String> {
    let folded: String = email.nfkc().collect::<String>().trim().to_lowercase().nfkc().collect();
    let invalid = |message: &str| DomainError::invalid(field, message);
    if folded.contains(['<', '>']) {
        return Err(invalid("must be the address alone, without a name or angle brackets"));
    }
    let Some((local, domain)) = folded.rsplit_once('@') else {
        return Err(invalid("must be an email address"));
    };
    if domain.starts_with('[') || domain.parse::<std::net::IpAddr>().is_ok() {
        return Err(invalid("must have a domain name, not an IP address"));
    }
    if folded.len() > MAX_LENGTH || local.chars().count() > MAX_LOCAL_LENGTH {
        return Err(invalid("is too long for an email address"));
    }
    if !dot_atom(local) || !domain_name(domain) {
        return Err(invalid("must be an email address"));
    }
    if !single_script(local) || !domain.split('.').all(single_script) {
        return Err(invalid("mixes letters of different scripts, as look-alike addresses do"));
    }
    Ok(folded)
}

/// A local part of dot-separated atoms.
fn dot_atom(local: &str) -> bool {
    local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(|c| c.is_alphanumeric() || ATEXT.contains(c)))
}

/// A domain name of at least two labels, the last not a number.
fn domain_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().any(char::is_alphabetic))
}

/// The writing systems look-alike addresses mix; other letters are told apart by their block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Armenian,
    Hebrew,
    Arabic,
    /// Han, kana, Hangul and Bopomofo: written together, and with Latin.
    Cjk,
    /// Any other letter, by its 128-code-point block.
    Other(u32),
}

/// The script of a letter; `None` for digits, marks and punctuation, which any script may use.
fn script(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    Some(match u32::from(c) {
        0x0041..=0x02AF | 0x1D00..=0x1DBF | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F => {
            Script::Latin
        }
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x0530..=0x058F => Script::Armenian,
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => Script::Hebrew,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
        0x1100..=0x11FF
        | 0x3040..=0x30FF
        | 0x3100..=0x318F
        | 0x31A0..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0x20000..=0x3FFFF => Script::Cjk,
        other => Script::Other(other >> 7),
    })
}

/// Whether the letters of `part` are of one script (or Latin with CJK).
fn single_script(part: &str) -> bool {
    let mut scripts = part.chars().filter_map(script).filter(|found| *found != Script::Cjk);
    let has_cjk = part.chars().filter_map(script).any(|found| found == Script::Cjk);
    let Some(first) = scripts.next() else { return true };
    scripts.all(|found| found == first) && (!has_cjk || first == Script::Latin)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test should fail loudly")]
mod tests {
    use super::*;

    fn ok(email: &str) -> String {
        canonical(email, "email").unwrap()
    }

    fn refused(email: &str) -> bool {
        canonical(email, "email").is_err()
    }

    #[test]
    fn one_form_per_mailbox() {
        assert_eq!(ok("  Hunter@Iron.City "), "hunter@iron.city");
        assert_eq!(ok("ａ@x.com"), "a@x.com");
        assert_eq!(ok("Ａ＠Ｘ．ｃｏｍ"), "a@x.com");
        assert_eq!(ok("o'brien+tag@mail.example"), "o'brien+tag@mail.example");
        assert_eq!(ok("иван@почта.рф"), "иван@почта.рф");
        assert_eq!(ok("taro山田@example.jp"), "taro山田@example.jp");
    }

    #[test]
    fn anything_but_a_bare_address_is_refused() {
        for email in [
            "<a@x.com>",
            "Alita <a@x.com>",
            "x@[127.0.0.1]",
            "x@[ipv6:::1]",
            "x@127.0.0.1",
            "\"a b\"@x.com",
            "a..b@x.com",
            ".a@x.com",
            "a@x",
            "a@-x.com",
            "a@x..com",
            "a@@x.com",
            "a\u{200b}@x.com",
            "a b@x.com",
            "",
        ] {
            assert!(refused(email), "{email:?} was accepted");
        }
    }

    #[test]
    fn mixed_script_look_alikes_are_refused() {
        // Cyrillic а (U+0430) and е (U+0435) among Latin letters.
        assert!(refused("\u{0430}lice@example.com"));
        assert!(refused("alice@\u{0435}xample.com"));
        // Greek ο (U+03BF) in a Latin name.
        assert!(refused("b\u{03bf}b@example.com"));
    }
}
